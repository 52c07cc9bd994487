"""analysis.practice against R and statsmodels: the relapse hazard ratio per reached check-in (R coxph on
counting-process rows), goal attainment by domain (R multi-state survfit), the pathway (1 − R's
Kaplan–Meier), incident rates and their ratio (R poisson.test), referral linkage and supervision coverage
(statsmodels' Wilson interval) and check-in regularity (R t.test, statsmodels DescrStatsW).

R's values are in practice_golden.json, written with the rows in data/practice_*.csv by
make_practice_golden.R (run by hand).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from peer_outcomes.analysis import practice

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def r() -> dict:
    return json.loads((HERE / "practice_golden.json").read_text())


def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / f"practice_{name}.csv")


def test_check_in_relapse_hazard_ratio_matches_r_coxph_counting_process_to_1e6(r, compare):
    """R: coxph(Surv(start_days, stop_days, is_relapse) ~ n_reached_prev_week + n_attended_prev_week,
    ties = "efron") on weekly rows whose event days tie (weeks end on multiples of 7)."""
    fit = practice.check_in_relapse(_csv("check_ins"))
    ref = r["check_in_cox"]
    s = fit.summary.set_index("term").loc[ref["term"]]
    compare("check-in Cox coef vs R", ref["term"], s["coef"], ref["coef"], 1e-6)
    compare("check-in Cox SE vs R", ref["term"], s["se"], ref["se"], 1e-6)
    assert fit.log_likelihood == pytest.approx(ref["loglik"], abs=1e-6)
    assert fit.events == ref["n_events"]
    assert np.allclose(s["hr"], np.exp(ref["coef"]), rtol=1e-6)


def test_goal_attainment_matches_r_multistate_survfit_by_domain_to_1e10(r, compare):
    """R: survfit(Surv(time_days, factor(event_code)) ~ domain): pstate of met and of abandoned."""
    ours = practice.goal_attainment(_csv("goals")).summary
    ref = pd.DataFrame(r["goals_aj"]).query("time > 0").reset_index(drop=True)  # ours starts each curve at 0
    for cause in ("met", "abandoned"):
        mine = ours[(ours.cause == cause) & (ours.time > 0)].reset_index(drop=True)
        assert list(mine.group) == list(ref.group) and list(mine.time) == list(ref.time)
        compare(f"goals {cause} by domain vs R", mine.group + "@" + mine.time.astype(str), mine.cif, ref[cause], 1e-10)


def test_pathway_is_one_minus_r_kaplan_meier(r, compare):
    """R: 1 - survfit(Surv(time_days, is_mentor) ~ 1)$surv."""
    ours = practice.pathway(_csv("pathway")).summary
    ref = pd.DataFrame(r["pathway_km"])
    mine = ours[ours.time > 0].reset_index(drop=True)
    assert list(mine.time) == list(ref.time)
    compare("pathway vs 1 - R KM", mine.time, mine.cif, ref.cif, 1e-12)


def _months(x1: int, t1: int, x0: int, t0: int) -> pd.DataFrame:
    """Active mentor-months: t1 unsupervised holding x1 incidents, t0 supervised holding x0, plus an inactive
    month with an incident that no rate may count."""
    def rows(x: int, t: int, supervised: int) -> list[dict]:
        counts = np.bincount(np.arange(x) % max(t, 1), minlength=t) if t else []
        return [{"is_active": 1, "is_supervised": supervised, "n_incidents": int(c)} for c in counts]
    return pd.DataFrame([*rows(x1, t1, 0), *rows(x0, t0, 1), {"is_active": 0, "is_supervised": 0, "n_incidents": 1}])


@pytest.mark.parametrize("case", range(3))
def test_incident_rates_and_their_ratio_match_r_poisson_test(r, case):
    """R: poisson.test(c(x1, x0), c(T1, T0)) (exact conditional ratio, CI and p) and poisson.test(x0, T0)."""
    ref = r["incident_rates"][case]
    months = _months(ref["x1"], ref["t1"], ref["x0"], ref["t0"])
    rr = practice.incident_rate_ratio(months).summary.iloc[0]
    assert (rr.rate_ratio, rr.lower_95, rr.upper_95, rr.p) == pytest.approx(
        (ref["ratio"], ref["lower"], ref["upper"], ref["p"]), rel=1e-8, abs=1e-12)
    rates = practice.incident_rates(months)
    sup = rates.summary.set_index("group").loc["1"]
    assert (sup.n_incidents, sup.n_months) == (ref["x0"], ref["t0"])
    assert (sup.lower_95, sup.upper_95) == pytest.approx((ref["rate0_lower"], ref["rate0_upper"]), rel=1e-10)
    assert rates.excluded == {"incidents outside an active month": 1}


def test_referral_linkage_counts_observable_dated_treatment_referrals_with_statsmodels_wilson():
    ref = pd.DataFrame({
        "resource_type": ["treatment"] * 40 + ["mat"] * 10 + ["housing"] * 20 + ["detox"] * 3,
        "is_observable_30_days": [1] * 38 + [0, 0] + [1] * 33,
        "is_connected_30_days": [1] * 25 + [0] * 12 + [None] + [1, 0] + [1] * 4 + [0] * 6 + [1] * 20 + [1, 0, 0],
    })
    fit = practice.referral_linkage(ref)
    row = fit.summary.iloc[0]
    # treatment: 37 dated observable (25 connected); mat 10 (4); detox 3 (1): 50 referrals, 30 connected
    assert (row.n_referrals, row.n_connected) == (50, 30)
    assert (row.lower_95, row.upper_95) == pytest.approx(proportion_confint(30, 50, method="wilson"), abs=1e-12)
    assert fit.excluded == {"made under 30 days before the cutoff": 2, "connected without a date": 1}


def test_check_in_regularity_interval_matches_r_t_test_and_statsmodels(r):
    shares = np.array(r["regularity"]["shares"])
    people = pd.DataFrame({"n_weeks": [*[10] * len(shares), 0], "n_weeks_reached": [*np.round(shares * 10), 0],
                           "share_weeks_reached": [*shares, None]})  # the last has no weeks: not counted
    row = practice.check_in_regularity(people).summary.iloc[0]
    assert row.n_people == len(shares)
    assert (row.mean_share, row.lower_95, row.upper_95) == pytest.approx(
        (r["regularity"]["mean"], r["regularity"]["lower"], r["regularity"]["upper"]), abs=1e-12)
    assert (row.lower_95, row.upper_95) == pytest.approx(DescrStatsW(shares).tconfint_mean(), abs=1e-12)
