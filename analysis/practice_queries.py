"""Named read-only queries over the mentoring-practice marts (issue 15), with the dashboard's filters.

Participant-side rows (marts.goals, goal_setting, referrals, check_in_weekly, check_in_regularity, pathway)
are restricted to the filtered population through marts.participant_outcomes, as every other query is;
marts.mentor_months describes all mentors, since a mentor belongs to no enrollment period or track. The
definitions live in the marts (pipelines/sql/marts/, docs/outcomes.md); these queries only count their rows
over the windows a page reports (met within 180 days, connected within 30, mentoring within 365), for
analysis.published_practice to suppress.
"""

from __future__ import annotations

import os

import pandas as pd

from peer_outcomes.analysis import queries
from peer_outcomes.analysis.queries import Filters
from peer_outcomes.pipelines.warehouse import query

Db = str | os.PathLike[str]

PRACTICE_TABLES = ("goals", "check_ins", "referrals", "mentor_activity", "incidents")
AS_OF = "(select as_of from programs where program = x.program)"  # the row's program's own cutoff
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


def _in(mart: str, f: Filters, extra: str = "true") -> tuple[str, list]:
    """`from <mart> x join marts.participant_outcomes p` for the filtered population."""
    where, params = f.where(prefix="p.")
    return f"from {mart} x join marts.participant_outcomes p using (participant_key) where {where} and {extra}", params


def goals_by_domain(db: Db, f: Filters) -> pd.DataFrame:
    """Per domain: goals set at least GOAL_DAYS before the cutoff, those met within GOAL_DAYS, and people."""
    rows, params = _in("marts.goals", f, f"x.set_on <= {AS_OF} - {GOAL_DAYS}")
    sql = f"""
        select x.domain, count(*) as n_goals, count(*) filter (where x.is_met = 1 and x.time_days <= {GOAL_DAYS})
               as n_met, count(distinct x.participant_key) as n_people
        {rows} group by 1 order by 1"""
    return query(db, sql, params)


def goal_setting(db: Db, f: Filters) -> pd.DataFrame:
    """Participants followed their whole first 30 days, and those who set a goal in them (marts.goal_setting)."""
    rows, params = _in("marts.goal_setting", f, "x.is_observable_30_days = 1")
    sql = f"select count(*) as n_followed, count(*) filter (where x.n_goals_first_30_days > 0) as n_with_goal {rows}"
    return query(db, sql, params)


def referral_linkage(db: Db, f: Filters) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per resource type, and for all treatment referrals (treatment, MAT, detox: marts.referrals is_treatment):
    referrals made at least LINK_DAYS before the cutoff, those connected within LINK_DAYS, and people."""
    rows, params = _in("marts.referrals", f, "x.is_observable_30_days = 1")
    counts = ("count(*) as n_referrals, count(*) filter (where x.is_connected_30_days = 1) as n_connected, "
              "count(distinct x.participant_key) as n_people")  # fmt: skip
    sql = f"select x.resource_type, {counts} {rows} group by 1 order by 1"
    by_type = query(db, sql, params)
    treatment = query(db, f"select 'all treatment' as resource_type, {counts} {rows} and x.is_treatment = 1", params)
    return by_type, treatment


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
    rows, params = _in("marts.check_in_regularity", f, "x.n_weeks > 0")
    sql = (f"select coalesce(sum(x.n_weeks), 0) as person_weeks, coalesce(sum(x.n_weeks_reached), 0) as n_weeks_reached, "
           f"count(*) as n_people {rows}")  # fmt: skip
    return query(db, sql, params)


def pathway(db: Db, f: Filters) -> pd.DataFrame:
    """Completers followed at least PATHWAY_DAYS since completing (marts.pathway), and those who started as a
    mentor within PATHWAY_DAYS."""
    rows, params = _in("marts.pathway", f, f"x.completed_on <= {AS_OF} - {PATHWAY_DAYS}")
    sql = (f"select count(*) as n_completers, count(*) filter (where x.is_mentor = 1 and x.time_days <= "
           f"{PATHWAY_DAYS}) as n_mentoring {rows}")  # fmt: skip
    return query(db, sql, params)


def supervision(db: Db) -> pd.DataFrame:
    """Per calendar quarter: active mentor-months (marts.mentor_months), those supervised as the policy says,
    and mentors active."""
    sql = """
        select strftime(month, '%Y') || '-Q' || cast(quarter(month) as varchar) as quarter,
               count(*) as mentor_months, count(*) filter (where is_supervised = 1) as n_supervised,
               count(distinct mentor_key) as n_mentors
        from marts.mentor_months where is_active = 1 group by 1 order by 1"""
    return query(db, sql)


def incidents_by(db: Db, by: str) -> pd.DataFrame:
    """Incidents in active mentor-months (marts.mentor_months), mentor-months and mentors, by `by`:
    'supervised' (the month met the policy) or 'site' (the mentor's)."""
    group = {"supervised": "cast(is_supervised = 1 as varchar)", "site": "site"}[by]
    sql = f"""
        select {group} as {by}, count(*) as mentor_months, sum(n_incidents) as n_incidents,
               count(distinct mentor_key) as n_mentors
        from marts.mentor_months where is_active = 1 group by 1 order by 1"""
    return query(db, sql)


def graduate_mentors(db: Db) -> pd.DataFrame:
    """Mentors who started by the cutoff, and those who were once participants of the program."""
    sql = f"""
        select count(*) as n_mentors, count(*) filter (where former_participant_pid in
               (select participant_pid from participants)) as n_graduates
        from mentors x where started_on <= {AS_OF}"""
    return query(db, sql)
