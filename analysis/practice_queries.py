"""Named read-only queries over the mentoring-practice marts (issue 15), with the dashboard's filters.

Participant-side results (marts.goals, goal_setting, referrals, check_in_weekly, check_in_regularity,
pathway) are read from their counts per filter cell (program x site x track x enrollment month), built at
load (pipelines/sql/aggregates/practice_counts.sql, week_counts.sql, week_bands.sql, over the windows a page
reports: met within 180 days, connected within 30, mentoring within 365): a filter is a union of cells, so a
result is a sum of a few hundred rows. The mentor-side results describe all mentors, since a mentor belongs
to no enrollment period or track: their counts per program (aggregates.mentor_counts, from marts.mentor_months
and mentors) add up over programs, as a mentor belongs to one. The definitions live in the marts (pipelines/sql/marts/, docs/outcomes.md);
analysis.published_practice suppresses what these return.
"""

from __future__ import annotations

import os

import pandas as pd

from peer_outcomes.analysis import queries
from peer_outcomes.analysis.queries import Filters
from peer_outcomes.pipelines.warehouse import query

Db = str | os.PathLike[str]

PRACTICE_TABLES = ("goals", "check_ins", "referrals", "mentor_activity", "incidents")
# The windows counted in pipelines/sql/aggregates/practice_counts.sql, named here for the methods text
# (tests/unit/test_practice_counts.py holds the counts to queries written with these numbers).
GOAL_DAYS = 180  # a goal counts as met when met within this many days of being set
LINK_DAYS = 30  # a referral counts as connected when connected within this many days (marts.referrals)
PATHWAY_DAYS = 365  # a completer counts as mentoring when they start within this many days of completing


def loaded_tables(db: Db) -> dict[str, bool]:
    """Whether each practice file was in an export loaded into the warehouse (a load batch names it), or its
    table holds rows: an empty incidents file is a program without incidents, not one without the file."""
    have = set(query(db, "select table_name from information_schema.tables where table_schema = 'main'")["table_name"])
    sql = " union all ".join(
        f"select '{t}' as t, exists(select 1 from {t}) or exists(select 1 from load_batches where entity = '{t}') as has"
        for t in PRACTICE_TABLES if t in have
    )
    rows = query(db, sql) if sql else pd.DataFrame(columns=["t", "has"])
    found = dict(zip(rows["t"], rows["has"].astype(bool), strict=True))
    return {t: found.get(t, False) for t in PRACTICE_TABLES}


def supervision_policy(db: Db) -> float:
    """The supervision policy (hours a month) the warehouse's marts were built with."""
    return float(query(db, "select supervision_hours from settings")["supervision_hours"].iloc[0])


def _counts(db: Db, f: Filters, result: str) -> pd.DataFrame:
    """aggregates.practice_counts of one `result` summed over the filtered cells, per item (n_items, n_hits,
    n_people): a participant sits in one cell, so people add up. A page's filter reads a few hundred rows
    instead of joining each practice mart to the participants."""
    where, params = f.where("cohort_month", small=queries.small_cell_keys(db))
    sql = ("select item, sum(n_items)::bigint as n_items, sum(n_hits)::bigint as n_hits, sum(n_people)::bigint as "
           f"n_people from aggregates.practice_counts where result = ? and {where} group by item order by item")  # fmt: skip
    return query(db, sql, [result, *params])


def _one(counts: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """The single row of a whole-selection count (zeros when the selection has no such rows), renamed."""
    row = counts[list(names)].sum().astype("int64") if len(counts) else pd.Series(0, index=list(names), dtype="int64")
    return pd.DataFrame([row]).rename(columns=names).reset_index(drop=True)


def goals_by_domain(db: Db, f: Filters) -> pd.DataFrame:
    """Per domain: goals set at least GOAL_DAYS before the cutoff, those met within GOAL_DAYS, and people."""
    t = _counts(db, f, "goals")
    return t.rename(columns={"item": "domain", "n_items": "n_goals", "n_hits": "n_met"})[
        ["domain", "n_goals", "n_met", "n_people"]]


def goal_setting(db: Db, f: Filters) -> pd.DataFrame:
    """Participants followed their whole first 30 days, and those who set a goal in them (marts.goal_setting)."""
    return _one(_counts(db, f, "goal_setting"), {"n_items": "n_followed", "n_hits": "n_with_goal"})


def referral_linkage(db: Db, f: Filters) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per resource type, and for all treatment referrals (treatment, MAT, detox: marts.referrals is_treatment):
    referrals made at least LINK_DAYS before the cutoff, those connected within LINK_DAYS, and people."""
    names = {"item": "resource_type", "n_items": "n_referrals", "n_hits": "n_connected", "n_people": "n_people"}
    by_type = _counts(db, f, "referrals").rename(columns=names)[list(names.values())]
    treatment = _one(_counts(db, f, "treatment_referrals"), {k: v for k, v in names.items() if k != "item"})
    return by_type, treatment.assign(resource_type="all treatment")[list(names.values())]


def check_in_weeks(db: Db, f: Filters) -> pd.DataFrame:
    """Matched participants' weeks at risk of a first relapse (marts.check_in_weekly) by check-ins that reached
    them the week before (0, 1, 2+): person-weeks, relapses and people (summed over cells: aggregates.week_bands)."""
    return queries.week_bands(db, f, "check_ins_last_week", matched_only=True)


def check_in_rows(db: Db, f: Filters) -> pd.DataFrame:
    """Matched participants' marts.check_in_weekly rows with the columns the check-in relapse model uses, as
    distinct rows with `n_rows`, the participant-weeks each stands for (aggregates.week_counts)."""
    return queries.week_counts(db, f, ["n_reached_prev_week", "n_attended_prev_week"], matched_only=True)


def check_in_regularity(db: Db, f: Filters) -> pd.DataFrame:
    """Weeks since the first match (marts.check_in_regularity), those with a reached check-in, and people."""
    names = {"n_items": "person_weeks", "n_hits": "n_weeks_reached", "n_people": "n_people"}
    return _one(_counts(db, f, "regularity"), names)


def pathway(db: Db, f: Filters) -> pd.DataFrame:
    """Completers followed at least PATHWAY_DAYS since completing (marts.pathway), and those who started as a
    mentor within PATHWAY_DAYS."""
    return _one(_counts(db, f, "pathway"), {"n_items": "n_completers", "n_hits": "n_mentoring"})


def _mentors(db: Db, measure: str, name: str) -> pd.DataFrame:
    """aggregates.mentor_counts of one `measure` summed over programs per level (named `name`): a mentor
    belongs to one program, so mentors add up. Counted per program at load, where scanning every
    mentor-month on the page took half a minute at 10 million participants."""
    sql = f"""
        select level as {name}, sum(mentor_months)::bigint as mentor_months, sum(n_supervised)::bigint as n_supervised,
               sum(n_incidents) as n_incidents, sum(n_mentors)::bigint as n_mentors
        from aggregates.mentor_counts where measure = ? group by 1 order by 1"""
    return query(db, sql, [measure])


def supervision(db: Db) -> pd.DataFrame:
    """Per calendar quarter: active mentor-months (marts.mentor_months), those supervised as the policy says,
    and mentors active."""
    return _mentors(db, "quarter", "quarter")[["quarter", "mentor_months", "n_supervised", "n_mentors"]]


def incidents_by(db: Db, by: str) -> pd.DataFrame:
    """Incidents in active mentor-months (marts.mentor_months), mentor-months and mentors, by `by`:
    'supervised' (the month met the policy: 'true', 'false') or 'site' (the mentor's)."""
    return _mentors(db, {"supervised": "supervised", "site": "site"}[by], by)[[by, "mentor_months", "n_incidents", "n_mentors"]]


def graduate_mentors(db: Db) -> pd.DataFrame:
    """Mentors who started by their program's cutoff, and those who were once participants of the program."""
    sql = ("select coalesce(sum(n_mentors), 0)::bigint as n_mentors, coalesce(sum(n_graduates), 0)::bigint as n_graduates "
           "from aggregates.mentor_counts where measure = 'graduates'")  # fmt: skip
    return query(db, sql)
