"""Cumulative incidence with tied times, and milestone odds ratios, against R and statsmodels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from lifelines.datasets import load_lung, load_rossi
from statsmodels.duration.survfunc import CumIncidenceRight

from peer_outcomes.analysis.competing import cif_one, cumulative_incidence
from peer_outcomes.analysis.milestones import fit_milestone_model

CAUSES = {1: "relapse", 2: "dropout", 3: "completion"}


def _ties() -> pd.DataFrame:
    return pd.read_csv(Path(__file__).parent / "data" / "competing_ties.csv")


def test_cumulative_incidence_matches_r_multistate_survfit_to_1e8(golden, compare):
    """R: survfit(Surv(time, factor(status)) ~ group, data = competing_ties) -> pstate[, 2:4]
    (400 rows on 40 distinct days: every time is tied)."""
    ours = cumulative_incidence(_ties(), "time", "status", CAUSES, group="group").summary
    ref = pd.DataFrame(golden["competing"])
    for code, name in CAUSES.items():
        mine = ours[(ours["cause"] == name) & (ours["time"] > 0)].reset_index(drop=True)
        assert list(mine["time"]) == list(ref["time"]) and list(mine["group"]) == list(ref["group"])
        compare(f"CIF {name} vs R", mine["group"] + "@" + mine["time"].astype(str), mine["cif"], ref[f"cif{code}"], 1e-8)


def test_cumulative_incidence_and_se_match_statsmodels_cumincidenceright(compare):
    """statsmodels CumIncidenceRight (exact with ties, delta-method SE) on the same tied data, group A."""
    df = _ties()
    a = df[df["group"] == "A"]
    sm_fit = CumIncidenceRight(a["time"], a["status"])
    for code in CAUSES:
        times, cif, se = cif_one(a["time"].to_numpy(float), a["status"].to_numpy(int), code)
        assert np.array_equal(times, sm_fit.times)
        compare(f"CIF cause {code} vs statsmodels", times, cif, sm_fit.cinc[code - 1], 1e-12)
        compare(f"CIF SE cause {code} vs statsmodels", times, se, sm_fit.cinc_se[code - 1], 1e-12)


def test_cif_confidence_band_contains_estimate_and_stays_in_unit_interval():
    ours = cumulative_incidence(_ties(), "time", "status", CAUSES).summary
    pos = ours[ours["cif"] > 0]
    assert ((pos["lower_95"] <= pos["cif"]) & (pos["cif"] <= pos["upper_95"])).all()
    assert pos["lower_95"].min() > 0 and pos["upper_95"].max() < 1


def test_logistic_milestone_model_matches_r_glm(golden, compare):
    """R: glm(arrest ~ fin + age + prio, family = binomial, data = rossi)."""
    fit = fit_milestone_model(load_rossi(), "arrest", ["fin", "age", "prio"])
    ref = golden["logit_rossi"]
    compare("logit coef vs R glm", fit.summary["term"], fit.summary["coef"], ref["coef"][1:], 1e-6)
    compare("logit SE vs R glm", fit.summary["term"], fit.summary["se"], ref["se"][1:], 1e-6)
    assert np.allclose(fit.summary["odds_ratio"], np.exp(fit.summary["coef"]))
    assert fit.n == 432 and fit.events == 114


def test_gee_milestone_model_matches_r_geepack_exchangeable(golden, compare):
    """R: geeglm(status ~ age + sex, id = inst, family = binomial, corstr = "exchangeable",
    data = na.omit(lung[, c("status", "age", "sex", "inst")]) sorted by inst).

    The two packages' moment estimators of the exchangeable correlation differ in small details
    (geepack alpha = -0.0226, statsmodels -0.0223), so the estimates agree to 1% of a standard error
    rather than to rounding: the tolerance per term is 0.01 x its SE.
    """
    # lung has 18 institutions, fewer than our default 20 for a robust SE; R computes one, so compare it
    fit = fit_milestone_model(load_lung(), "status", ["age", "sex"], cluster="inst", min_clusters=18)
    ref = golden["gee_lung"]
    for i, row in fit.summary.iterrows():
        tol = 0.01 * row["se"]
        compare(f"GEE {row['term']} coef vs R geepack", [row["term"]], [row["coef"]], [ref["coef"][i + 1]], tol)
        compare(f"GEE {row['term']} SE vs R geepack", [row["term"]], [row["se"]], [ref["se"][i + 1]], tol)
    assert "exchangeable" in fit.method


def test_gee_with_independence_equals_logit_coefficients():
    """Sanity of the clustered path: statsmodels GEE(independence) reproduces Logit's point estimates."""
    df = load_rossi()
    x = sm.add_constant(df[["fin", "age", "prio"]])
    gee = sm.GEE(df["arrest"], x, groups=df["race"], family=sm.families.Binomial()).fit()
    ours = fit_milestone_model(df, "arrest", ["fin", "age", "prio"])
    assert np.allclose(gee.params.iloc[1:], ours.summary["coef"], atol=1e-6)
