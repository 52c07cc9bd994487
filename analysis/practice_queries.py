"""Named read-only queries over the mentoring-practice tables (issue 15), with the dashboard's filters.

Participant-side counts (goals, referrals, check-ins, the mentee-to-mentor pathway) are restricted to the
filtered population through marts.participant_outcomes, as every other query is; mentor-side counts
(supervision, incidents, graduate mentors) describe all mentors, since a mentor belongs to no enrollment
period or track. Each definition follows the one documented with the synthetic program's true values
(docs/synthetic.md, "Mentoring practice"); analysis.published_practice aggregates nothing further and
suppresses everything.
"""

from __future__ import annotations

import os

import pandas as pd

from peer_outcomes.analysis.queries import Filters
from peer_outcomes.pipelines.warehouse import query

Db = str | os.PathLike[str]

PRACTICE_TABLES = ("goals", "check_ins", "referrals", "mentor_activity", "incidents")
AS_OF = "(select as_of from settings)"
GOAL_DAYS = 180  # a goal counts as met when met within this many days of being set
LINK_DAYS = 30  # a referral counts as connected when connected within this many days
PATHWAY_DAYS = 365  # a completer counts as mentoring when they start within this many days of completing
FIRST_DAYS = 30  # goals set in a participant's first this many days


def loaded_tables(db: Db) -> dict[str, bool]:
    """Whether each practice table holds any rows (a warehouse from an export without the files holds none)."""
    have = set(query(db, "select table_name from information_schema.tables where table_schema = 'main'")["table_name"])
    sql = " union all ".join(f"select '{t}' as t, exists(select 1 from {t}) as has" for t in PRACTICE_TABLES if t in have)
    rows = query(db, sql) if sql else pd.DataFrame(columns=["t", "has"])
    found = dict(zip(rows["t"], rows["has"].astype(bool), strict=True))
    return {t: found.get(t, False) for t in PRACTICE_TABLES}


def _population(f: Filters) -> tuple[str, list]:
    where, params = f.where(prefix="p.")
    return f"select p.participant_key, p.enrolled_on from marts.participant_outcomes p where {where}", params


def goals_by_domain(db: Db, f: Filters) -> pd.DataFrame:
    """Per domain: goals set at least GOAL_DAYS before the cutoff, those met within GOAL_DAYS, and people."""
    pop, params = _population(f)
    sql = f"""
        select g.domain, count(*) as n_goals,
               count(*) filter (where g.status = 'met' and g.status_on - g.set_on <= {GOAL_DAYS}) as n_met,
               count(distinct g.participant_key) as n_people
        from goals g join ({pop}) p using (participant_key)
        where g.set_on <= {AS_OF} - {GOAL_DAYS}
        group by 1 order by 1"""
    return query(db, sql, params)


def goals_first_days(db: Db, f: Filters) -> pd.DataFrame:
    """Participants enrolled at least FIRST_DAYS before the cutoff, and those who set a goal in that time."""
    pop, params = _population(f)
    sql = f"""
        select count(*) as n_followed, count(*) filter (where exists (
                   select 1 from goals g where g.participant_key = p.participant_key
                   and g.set_on - p.enrolled_on between 0 and {FIRST_DAYS - 1})) as n_with_goal
        from ({pop}) p where p.enrolled_on <= {AS_OF} - {FIRST_DAYS}"""
    return query(db, sql, params)


def referral_linkage(db: Db, f: Filters) -> pd.DataFrame:
    """Per resource type: referrals made at least LINK_DAYS before the cutoff, those connected within
    LINK_DAYS, and people referred."""
    pop, params = _population(f)
    sql = f"""
        select r.resource_type, count(*) as n_referrals,
               count(*) filter (where r.outcome = 'connected' and r.connected_on - r.made_on <= {LINK_DAYS})
                   as n_connected,
               count(distinct r.participant_key) as n_people
        from referrals r join ({pop}) p using (participant_key)
        where r.made_on <= {AS_OF} - {LINK_DAYS}
        group by 1 order by 1"""
    return query(db, sql, params)


def check_in_weeks(db: Db, f: Filters) -> pd.DataFrame:
    """Matched participants' weeks at risk of a first relapse (marts.dose_weekly) by check-ins reached the
    week before (0, 1, 2, 3+; week w of enrollment holds days 7w..7w+6): person-weeks, relapses, people and
    weeks that themselves had a reached check-in."""
    where, params = f.where(prefix="p.")
    sql = f"""
        with reached as (
            select c.participant_key, (c.checked_in_on - p.enrolled_on) // 7 as week, count(*) as n
            from check_ins c join marts.participant_outcomes p using (participant_key)
            where c.reached group by 1, 2
        ),
        weeks as (
            select d.participant_key, d.is_relapse, coalesce(b.n, 0) as prev, coalesce(w.n, 0) as now
            from marts.dose_weekly d join marts.participant_outcomes p using (participant_key)
            left join reached b on b.participant_key = d.participant_key and b.week = d.week - 1
            left join reached w on w.participant_key = d.participant_key and w.week = d.week
            where p.is_matched = 1 and {where}
        )
        select case when prev >= 3 then '3+' else cast(prev as varchar) end as check_ins_last_week,
               count(*) as person_weeks, sum(is_relapse) as n_relapses,
               count(*) filter (where now > 0) as n_weeks_reached,
               count(distinct participant_key) as n_people
        from weeks group by 1 order by 1"""
    return query(db, sql, params)


def pathway(db: Db, f: Filters) -> pd.DataFrame:
    """Participants who completed the program at least PATHWAY_DAYS before the cutoff, and those who started
    as a mentor within PATHWAY_DAYS of completing (mentors.former_participant_pid)."""
    pop, params = _population(f)
    sql = f"""
        select count(*) as n_completers,
               count(*) filter (where exists (
                   select 1 from mentors m where m.former_participant_pid = q.participant_pid
                   and m.started_on - e.exit_on between 0 and {PATHWAY_DAYS})) as n_mentoring
        from exits e join ({pop}) p using (participant_key)
        join participants q using (participant_key)
        where e.reason = 'completed' and e.exit_on <= {AS_OF} - {PATHWAY_DAYS}"""
    return query(db, sql, params)


def supervision(db: Db, hours: float) -> pd.DataFrame:
    """Per calendar quarter to the cutoff: active mentor-months, those with at least `hours` of supervision,
    and mentors active."""
    sql = f"""
        select strftime(month, '%Y') || '-Q' || cast(quarter(month) as varchar) as quarter,
               count(*) as mentor_months, count(*) filter (where supervision_hours >= ?) as n_supervised,
               count(distinct mentor_key) as n_mentors
        from mentor_activity where active and month <= {AS_OF}
        group by 1 order by 1"""
    return query(db, sql, [hours])


def incidents_by(db: Db, hours: float, by: str) -> pd.DataFrame:
    """Incidents in active mentor-months, mentor-months and mentors, by `by`: 'supervised' (the month had at
    least `hours` of supervision) or 'site' (the mentor's). An incident counts in the (mentor, month) row of
    its date; incidents outside an active month count in no row."""
    group = {"supervised": "(a.supervision_hours >= ?)::varchar", "site": "m.site"}[by]
    sql = f"""
        with counted as (
            select i.mentor_key, date_trunc('month', i.occurred_on)::date as month, count(*) as n
            from incidents i where i.occurred_on <= {AS_OF} group by 1, 2
        )
        select {group} as {by}, count(*) as mentor_months, coalesce(sum(c.n), 0) as n_incidents,
               count(distinct a.mentor_key) as n_mentors
        from mentor_activity a join mentors m using (mentor_key)
        left join counted c on c.mentor_key = a.mentor_key and c.month = a.month
        where a.active and a.month <= {AS_OF}
        group by 1 order by 1"""
    return query(db, sql, [hours] if by == "supervised" else [])


def graduate_mentors(db: Db) -> pd.DataFrame:
    """Mentors who started by the cutoff, and those who were once participants of the program."""
    sql = f"""
        select count(*) as n_mentors, count(*) filter (where former_participant_pid in
               (select participant_pid from participants)) as n_graduates
        from mentors where started_on <= {AS_OF}"""
    return query(db, sql)
