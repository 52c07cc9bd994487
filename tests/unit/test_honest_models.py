"""Models say what they cannot estimate: a term without information or without events on one side is
NaN with a warning (never a number), and a robust SE is used only with enough clusters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from peer_outcomes.analysis.cox import fit_cox
from peer_outcomes.analysis.dose import fit_time_varying_cox
from peer_outcomes.analysis.milestones import fit_milestone_model
from peer_outcomes.pipelines import config


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    rng = np.random.default_rng(21)
    n = 400
    return pd.DataFrame(
        {
            "t": rng.integers(1, 200, n).astype(float),
            "e": rng.integers(0, 2, n),
            "age": rng.normal(40, 10, n),
            "site": rng.choice(["A", "B", "C"], n),
            "mentor": rng.integers(0, 30, n),
        }
    )


def test_a_level_without_events_is_not_estimable_in_cox(people):
    df = people.assign(track=np.where(people.index < 15, "pilot", "usual"))
    df.loc[df["track"] == "pilot", "e"] = 0
    fit = fit_cox(df, "t", "e", ["age", "track"], categorical={"track": "usual"})
    row = fit.summary.set_index("term").loc["track[T.pilot]"]
    assert not row["estimable"] and row[["hr", "hr_lower_95", "hr_upper_95", "p"]].isna().all()
    assert fit.warnings == ("“track: pilot vs usual” is not estimable: too few events: this group has none.",)
    assert fit.summary.set_index("term").loc["age", "estimable"]


def test_a_dose_the_same_for_everyone_at_risk_at_each_event_is_not_estimable():
    """Weekly rows; the dose is 1 only in weeks in which no one has the event, 0 in every week with one."""
    rng = np.random.default_rng(4)
    rows = []
    for pid in range(60):
        weeks = int(rng.integers(2, 12))
        for w in range(weeks):
            last = w == weeks - 1
            event = int(last and pid % 2 == 0)
            rows.append({"id": pid, "start": 7.0 * w, "stop": 7.0 * w + 7, "event": event, "age": 30 + pid % 7})
    long = pd.DataFrame(rows)
    event_stops = set(long.loc[long["event"] == 1, "stop"])
    long["dose"] = (~long["stop"].isin(event_stops)).astype(float)  # same (0) for all at risk at an event
    fit = fit_time_varying_cox(long, "id", "start", "stop", "event", ["age", "dose"])
    s = fit.summary.set_index("term")
    assert s.loc["dose", ["hr", "coef", "se", "p"]].isna().all() and not s.loc["dose", "estimable"]
    assert fit.warnings == ("“dose” is not estimable: it does not vary among the people at risk when events happen.",)
    assert np.isfinite(s.loc["age", "hr"])


def test_a_level_where_everyone_reached_the_milestone_is_not_estimable_in_logit(people):
    df = people.assign(track=np.where(people.index < 12, "pilot", "usual"))
    df.loc[df["track"] == "pilot", "e"] = 1
    fit = fit_milestone_model(df, "e", ["age", "track"], categorical={"track": "usual"})
    row = fit.summary.set_index("term").loc["track[T.pilot]"]
    assert np.isnan(row["odds_ratio"]) and not row["estimable"]
    assert fit.warnings == ("“track: pilot vs usual” is not estimable: the outcome does not vary in this group.",)


def test_no_estimable_term_gives_a_result_of_nans_not_an_error(people):
    df = people.assign(early=np.where(people["t"] < people.loc[people["e"] == 1, "t"].min(), 1.0, 0.0))
    df.loc[0, ["t", "e", "early"]] = [0.5, 0, 1.0]  # someone censored before the first event
    fit = fit_cox(df, "t", "e", ["early"])
    assert fit.summary["hr"].isna().all() and len(fit.warnings) == 1
    assert fit.ph_note == "Proportional hazards were not checked: no term could be estimated."


def test_two_clusters_fall_back_to_model_based_se_by_default(people):
    df = people.assign(half=people.index % 2)
    plain = fit_cox(df, "t", "e", ["age", "site"])
    two = fit_cox(df, "t", "e", ["age", "site"], cluster="half")
    assert np.allclose(two.summary["se"], plain.summary["se"], rtol=0, atol=1e-12)
    assert "model-based SE, because 2 clusters of half are too few for a robust SE (at least 20 needed)" in two.method


def test_thirty_clusters_get_the_robust_se(people):
    plain = fit_cox(people, "t", "e", ["age", "site"])
    robust = fit_cox(people, "t", "e", ["age", "site"], cluster="mentor")
    assert "robust SE clustered by mentor" in robust.method and not robust.warnings
    assert not np.allclose(robust.summary["se"], plain.summary["se"])


def test_the_cluster_threshold_is_a_setting(people, monkeypatch):
    monkeypatch.setenv("PEER_OUTCOMES_MIN_CLUSTERS", "40")
    assert config.min_clusters() == 40
    fit = fit_cox(people, "t", "e", ["age"], cluster="mentor")
    assert "30 clusters of mentor are too few for a robust SE (at least 40 needed)" in fit.method
    monkeypatch.setenv("PEER_OUTCOMES_MIN_CLUSTERS", "1")
    assert config.min_clusters() == 2  # one cluster never gets a sandwich SE


def test_gee_with_few_clusters_reports_model_based_se(people):
    df = people.assign(half=people.index % 2)
    fit = fit_milestone_model(df, "e", ["age"], cluster="half")
    assert "model-based SE, because 2 clusters of half are too few" in fit.method
    assert fit.warnings == ("The standard errors are model-based: 2 clusters of half are too few for a robust SE "
                            "(at least 20 needed).",)


def test_methods_sentence_states_people_fitted_and_rows_excluded(people):
    df = people.copy()
    df.loc[[3, 4], "age"] = np.nan
    fit = fit_cox(df, "t", "e", ["age"])
    assert fit.method.endswith(", fitted on 398 people (2 rows with missing values excluded).")


def test_other_terms_take_their_limit_when_a_level_has_no_events(people):
    """As β of the eventless level goes to −∞ its people leave every risk set: the other hazard ratios are
    lifelines' fit without them (an independent implementation), not the fit with the level dropped."""
    from lifelines import CoxPHFitter

    df = people.assign(track=np.where(people.index < 15, "pilot", "usual"))
    df.loc[df["track"] == "pilot", "e"] = 0
    fit = fit_cox(df, "t", "e", ["age", "track"], categorical={"track": "usual"})
    rest = df[df["track"] == "usual"]
    want = CoxPHFitter().fit(rest[["t", "e", "age"]], "t", "e", fit_options={"precision": 1e-12}).params_["age"]
    assert fit.summary.set_index("term").loc["age", "coef"] == pytest.approx(want, abs=1e-7)
    assert fit.n == len(df) and fit.events == int(df["e"].sum())


def test_risk_set_information_equals_a_direct_sum_over_event_times():
    """Σ_t d_t · Cov(x | start < t ≤ stop, same stratum), computed here by brute force per event time."""
    from peer_outcomes.analysis.estimability import risk_set_information

    rng = np.random.default_rng(8)
    n = 300
    start = rng.integers(0, 20, n).astype(float)
    stop = start + rng.integers(1, 15, n)
    event = rng.integers(0, 2, n).astype(float)
    strata = rng.integers(0, 2, n)
    x = np.column_stack([rng.normal(size=n), rng.integers(0, 2, n), rng.poisson(2, n)]).astype(float)
    want = np.zeros((3, 3))
    for s in (0, 1):
        for t in np.unique(stop[(event == 1) & (strata == s)]):
            d = np.sum((stop == t) & (event == 1) & (strata == s))
            at_risk = (start < t) & (stop >= t) & (strata == s)
            want += d * np.cov(x[at_risk], rowvar=False, bias=True)
    got = risk_set_information(stop, event, x, start, strata)
    assert np.allclose(got, want, rtol=1e-10, atol=1e-10)
