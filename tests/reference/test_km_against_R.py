"""Kaplan–Meier curves, CIs, medians and survival at fixed times against R survival 3.5 (golden.json)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_rossi, load_waltons
from statsmodels.duration.survfunc import SurvfuncRight

from peer_outcomes.analysis.km import fit_km

CURVE = ["n_at_risk", "n_events", "n_censored", "survival", "lower_95", "upper_95"]


def _steps(curve: pd.DataFrame) -> pd.DataFrame:
    """Our curve without the time-0 anchor row of each group, for row-by-row comparison with R."""
    return curve[curve.groupby("group").cumcount() > 0].reset_index(drop=True)


@pytest.mark.parametrize(
    ("name", "loader", "duration", "event", "group"),
    [("km_waltons", load_waltons, "T", "E", "group"), ("km_rossi", load_rossi, "week", "arrest", None)],
)
def test_km_curve_matches_r_survfit_to_1e9(golden, compare, name, loader, duration, event, group):
    """R: survfit(Surv(T, E) ~ group, data = waltons); survfit(Surv(week, arrest) ~ 1, data = rossi)."""
    fit = fit_km(loader(), duration, event, group)
    ref = pd.DataFrame(golden[name]["curve"])
    ours = _steps(fit.curve)
    assert list(ours["group"]) == list(ref["group"])
    for col in ["time", *CURVE]:
        compare(f"{name} {col}", ours["time"], ours[col], ref[col], 1e-9)


def test_log_log_interval_matches_r_conf_type_log_log(golden, compare):
    """R: survfit(Surv(T, E) ~ group, data = waltons, conf.type = "log-log"); quantile(fit, 0.5)."""
    fit = fit_km(load_waltons(), "T", "E", "group", conf_type="log-log")
    ref = golden["km_waltons_loglog"]
    ours = _steps(fit.curve)
    curve = pd.DataFrame(ref["curve"])
    for col in ["lower_95", "upper_95"]:
        compare(f"waltons log-log {col}", ours["time"], ours[col], curve[col], 1e-9)
    med = pd.DataFrame(ref["median"])
    for col in ["median", "median_lower_95", "median_upper_95"]:
        compare(f"waltons log-log {col}", fit.summary["group"], fit.summary[col], med[col], 1e-12)


@pytest.mark.parametrize("name", ["km_waltons", "km_rossi"])
def test_km_median_and_its_ci_match_r_quantile(golden, compare, name):
    """R: quantile(survfit(...), 0.5) -> quantile, lower, upper."""
    df, args = (load_waltons(), ("T", "E", "group")) if name == "km_waltons" else (load_rossi(), ("week", "arrest", None))
    ours = fit_km(df, *args).summary
    ref = pd.DataFrame(golden[name]["median"])
    for col in ["median", "median_lower_95", "median_upper_95"]:
        compare(f"{name} {col}", ours["group"], ours[col], ref[col], 1e-12)


@pytest.mark.parametrize("case", ["a", "b", "c", "d"])
def test_median_on_a_flat_half_uses_r_midpoint_rule(golden, compare, case):
    """R: quantile(survfit(Surv(t, e) ~ 1, data = d), 0.5) for the four tiny data sets in make_golden.R.

    Case b reaches 0.5 only up to rounding (5/6 · 4/5 · 3/4); R's tolerance still takes the midpoint.
    """
    data = {
        "a": (list(range(1, 5)), [1] * 4),
        "b": (list(range(1, 7)), [1] * 6),
        "c": ([1, 2, 3, 4], [1, 1, 0, 0]),
        "d": ([1, 2, 2, 3, 5, 8, 9, 12], [1, 1, 0, 1, 1, 0, 1, 1]),
    }[case]
    ours = fit_km(pd.DataFrame({"t": data[0], "e": data[1]}), "t", "e").summary
    ref = pd.DataFrame(golden["km_half"][case])
    for col in ["median", "median_lower_95", "median_upper_95"]:
        compare(f"half-{case} {col}", ["All"], ours[col], ref[col], 1e-12)


@pytest.mark.parametrize(
    ("name", "loader", "args", "times"),
    [("km_waltons", load_waltons, ("T", "E", "group"), [10, 30, 50]),
     ("km_rossi", load_rossi, ("week", "arrest", None), [10, 30, 52])],
)
def test_survival_at_fixed_times_matches_r_summary_times(golden, compare, name, loader, args, times):
    """R: summary(survfit(...), times = c(10, 30, 50)) -> surv, lower, upper, n.risk."""
    ours = fit_km(loader(), *args).at(times)
    ref = pd.DataFrame(golden[name]["at"])
    for col in ["survival", "lower_95", "upper_95", "n_at_risk"]:
        compare(f"{name} at {col}", ours["group"] + "@" + ours["time"].astype(str), ours[col], ref[col], 1e-9)


def test_km_survival_matches_lifelines_and_statsmodels(compare):
    """Independent Python implementations agree on the survival column (lifelines KaplanMeierFitter,
    statsmodels SurvfuncRight)."""
    df = load_rossi()
    ours = _steps(fit_km(df, "week", "arrest").curve)
    kmf = KaplanMeierFitter().fit(df["week"], df["arrest"])
    ll = kmf.survival_function_.loc[ours["time"], "KM_estimate"].to_numpy()
    compare("rossi survival vs lifelines", ours["time"], ours["survival"], ll, 1e-12)
    sm = SurvfuncRight(df["week"], df["arrest"])
    event_rows = ours[ours["n_events"] > 0]
    compare("rossi survival vs statsmodels", event_rows["time"], event_rows["survival"], sm.surv_prob, 1e-12)
    assert np.allclose(event_rows["time"], sm.surv_times)
