"""The synthetic program's mentoring-practice files: the true values in truth.json come back from the rows
the real ETL loads (SQL over the core tables, and one Cox fit for the check-in effect on relapse).

The session export has N = 1500 and a fixed seed, so each check is deterministic; the intervals are wide
(99.9 %, or the Cox fit's 95 %) because the point is that the generator plants what truth.json says, not
that one seed lands on the value.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pytest

Z999 = 3.29  # two-sided 99.9 % normal quantile


def _truth(export: Path) -> dict[str, float]:
    return {e["name"]: e["value"] for e in json.loads((export / "truth.json").read_text())["practice_effects"]}


def _one(db: Path, sql: str) -> tuple:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()[0]


def _near_share(hits: int, n: int, true: float) -> None:
    share = hits / n
    se = math.sqrt(true * (1 - true) / n)
    assert abs(share - true) < Z999 * se, (hits, n, true)


def test_treatment_referrals_connect_within_30_days_as_often_as_truth_says(synth_export, synth_warehouse):
    hits, n = _one(
        synth_warehouse,
        """select count(*) filter (where connected_on - made_on <= 30), count(*) from referrals, settings
           where resource_type = 'treatment' and made_on <= as_of - 30""",
    )
    assert n > 150
    _near_share(hits, n, _truth(synth_export)["treatment_referral_connected_within_30_days"])


def test_incident_rates_per_supervised_month_and_their_ratio_match_truth(synth_export, synth_warehouse):
    sup_events, sup_months, uns_events, uns_months = _one(
        synth_warehouse,
        """with months as (select a.*, supervision_hours >= 1 as supervised from mentor_activity a where active),
                hits as (select m.supervised, count(*) as n from incidents i join months m
                         on m.mentor_key = i.mentor_key and m.month = date_trunc('month', i.occurred_on) group by 1)
           select (select n from hits where supervised), count(*) filter (where supervised),
                  (select n from hits where not supervised), count(*) filter (where not supervised)
           from months""",
    )
    total = _one(synth_warehouse, "select count(*) from incidents")[0]
    assert sup_events + uns_events == total  # every incident falls in an active month of its mentor
    truth = _truth(synth_export)
    rate, rr = truth["incidents_per_100_supervised_mentor_months"], truth["incident_rate_ratio_unsupervised"]
    log_rate = math.log(100 * sup_events / sup_months)
    assert abs(log_rate - math.log(rate)) < Z999 / math.sqrt(sup_events)
    log_rr = math.log((uns_events / uns_months) / (sup_events / sup_months))
    assert abs(log_rr - math.log(rr)) < Z999 * math.sqrt(1 / sup_events + 1 / uns_events)


def test_completers_who_become_mentors_within_a_year_are_linked_by_pseudonym_only(synth_export, synth_warehouse):
    hits, n = _one(
        synth_warehouse,
        """select count(distinct x.participant_key) filter (where m.started_on - x.exit_on <= 365),
                  count(distinct x.participant_key)
           from exits x join participants p using (participant_key)
                left join mentors m on m.former_participant_pid = p.participant_pid, settings
           where x.reason = 'completed' and x.exit_on <= as_of - 365""",
    )
    assert n > 50 and hits > 0
    _near_share(hits, n, _truth(synth_export)["completers_mentoring_within_365_days"])
    linked, after_completion = _one(
        synth_warehouse,
        """select count(*), count(*) filter (where m.started_on > x.exit_on and x.reason = 'completed')
           from mentors m join participants p on p.participant_pid = m.former_participant_pid
                join exits x using (participant_key)""",
    )
    assert linked == after_completion > 0
    former = _one(synth_warehouse, "select count(former_participant_pid) from mentors")[0]
    assert former == linked  # every graduate mentor is a participant of this export, found by pseudonym


def test_goals_met_by_180_days_are_near_the_true_cumulative_incidence(synth_export, synth_warehouse):
    """Goals set at least 180 days before as_of: nobody is censored before 180 days, so the share met by
    day 180 estimates the cumulative incidence with abandonment competing."""
    hits, n = _one(
        synth_warehouse,
        """select count(*) filter (where status = 'met' and status_on - set_on <= 180), count(*)
           from goals, settings where set_on <= as_of - 180""",
    )
    assert n > 300
    _near_share(hits, n, _truth(synth_export)["goal_met_by_180_days"])


def test_reached_check_ins_lower_relapse_by_the_true_hazard_ratio(synth_export, synth_warehouse):
    """Model B of truth.json (time-varying Cox on marts.dose_weekly, matched participants) with the previous
    week's reached check-ins beside the previous week's sessions: the true HR is inside the 95 % interval."""
    from lifelines import CoxTimeVaryingFitter

    from peer_outcomes.pipelines.warehouse import connect_readonly

    with connect_readonly(synth_warehouse) as con:
        rows = con.execute(
            """with reached as (
                   select c.participant_key, (c.checked_in_on - p.enrolled_on) // 7 as week, count(*) as n
                   from check_ins c join participants p using (participant_key) where c.reached group by all)
               select w.participant_key, w.start_days, w.stop_days, w.is_relapse,
                      coalesce(lag(w.n_attended) over (partition by w.participant_key order by w.week), 0) as lag1,
                      coalesce(r.n, 0) as reached_lag1,
                      o.mentor_certified, o.same_substance, o.same_gender
               from marts.dose_weekly w join marts.participant_outcomes o using (participant_key)
                    left join reached r on r.participant_key = w.participant_key and r.week = w.week - 1
               where o.is_matched = 1"""
        ).df()
    rows = rows.dropna()
    assert rows.reached_lag1.gt(0).mean() > 0.3  # the comparison is not vacuous
    fit = CoxTimeVaryingFitter().fit(
        rows, id_col="participant_key", start_col="start_days", stop_col="stop_days", event_col="is_relapse"
    )
    s = fit.summary.loc["reached_lag1"]
    true = _truth(synth_export)["relapse_check_ins_reached_lag1"]
    assert s["exp(coef) lower 95%"] < true < s["exp(coef) upper 95%"], s


@pytest.mark.parametrize("name", ["check_ins", "goals", "referrals", "mentor_activity", "incidents"])
def test_the_clean_practice_files_load_without_a_single_quarantined_row(synth_warehouse, name):
    loaded, quarantined = _one(
        synth_warehouse, f"select rows_loaded, rows_quarantined from load_batches where entity = '{name}'"
    )
    assert loaded > 0 and quarantined == 0
