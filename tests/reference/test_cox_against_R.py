"""Cox models (Efron ties, categorical reference, robust SE by cluster, strata, cox.zph) against R
survival 3.5 (golden.json) and statsmodels PHReg(ties="efron")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_rossi, load_stanford_heart_transplants
from statsmodels.duration.hazard_regression import PHReg

from peer_outcomes.analysis import efron
from peer_outcomes.analysis.cox import fit_cox
from peer_outcomes.analysis.dose import fit_time_varying_cox
from peer_outcomes.analysis.efron import CountingProcess, RiskTable

HERE = Path(__file__).parent
ROSSI = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]


@pytest.fixture(params=["patterns", "cells", "rows"])
def cox_path(request, monkeypatch) -> str:
    """Each right-censored case three times: tabulated by covariate pattern (efron.RiskTable, what categorical
    covariates use) and summed as a dense table ("patterns") or by its nonzero cells ("cells", what a mostly
    empty table uses), and row by row (what a table too large for MAX_TABLE_CELLS falls back to)."""
    if request.param == "rows":
        monkeypatch.setattr(efron, "MAX_TABLE_CELLS", 0)
    monkeypatch.setattr(efron, "SPARSE_SHARE", 0 if request.param == "cells" else 10**18)
    return request.param


def test_cox_efron_matches_r_coxph_and_statsmodels_phreg(golden, compare, cox_path):
    """R: coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, data = rossi)."""
    df = load_rossi()
    fit = fit_cox(df, "week", "arrest", ROSSI)
    ref = golden["cox_rossi"]
    assert list(fit.summary["term"]) == ref["term"]
    compare("rossi coef vs R", fit.summary["term"], fit.summary["coef"], ref["coef"], 1e-6)
    compare("rossi SE vs R", fit.summary["term"], fit.summary["se"], ref["se"], 1e-6)
    compare("rossi p vs R", fit.summary["term"], fit.summary["p"], ref["p"], 1e-6)
    sm = PHReg(df["week"], df[ROSSI], status=df["arrest"], ties="efron").fit()
    compare("rossi coef vs statsmodels", fit.summary["term"], fit.summary["coef"], sm.params, 1e-4)
    compare("rossi SE vs statsmodels", fit.summary["term"], fit.summary["se"], sm.bse, 1e-4)
    assert np.allclose(fit.summary["hr"], np.exp(fit.summary["coef"]))
    assert fit.n == 432 and fit.events == 114


def test_ph_test_matches_r_cox_zph_km_transform(golden, compare, cox_path):
    """R: cox.zph(coxph(Surv(week, arrest) ~ fin + age + ... + prio, data = rossi), transform = "km")."""
    fit = fit_cox(load_rossi(), "week", "arrest", ROSSI)
    ref = pd.DataFrame(golden["cox_rossi"]["zph"])
    assert list(fit.ph_test["term"]) == list(ref["term"])
    compare("rossi cox.zph chisq", fit.ph_test["term"], fit.ph_test["statistic"], ref["statistic"], 1e-6)
    compare("rossi cox.zph p", fit.ph_test["term"], fit.ph_test["p"], ref["p"], 1e-6)
    assert fit.ph_note.startswith("Proportional hazards may not hold: age")


def test_categorical_reference_and_cluster_robust_se_match_r(golden, compare, lung, cox_path):
    """R: lc <- na.omit(lung[, c("time","status","age","sex","ph.ecog","inst")]);
    lc$ecog <- relevel(factor(lc$ph.ecog), ref = "1");
    coxph(Surv(time, status) ~ age + ecog, cluster = inst, data = lc) -> coef, robust se; cox.zph."""
    # lung has 18 institutions, fewer than our default 20 for a robust SE; R computes one, so compare it
    fit = fit_cox(lung, "time", "status", ["age", "ecog"], categorical={"ecog": "1"}, cluster="inst", min_clusters=18)
    ref = golden["cox_lung_cluster"]
    assert list(fit.summary["term"]) == ["age", "ecog[T.0]", "ecog[T.2]", "ecog[T.3]"]
    assert list(fit.summary["label"]) == ["age", "ecog: 0 vs 1", "ecog: 2 vs 1", "ecog: 3 vs 1"]
    compare("lung coef vs R", fit.summary["term"], fit.summary["coef"], ref["coef"], 1e-6)
    compare("lung robust SE vs R", fit.summary["term"], fit.summary["se"], ref["se"], 1e-6)
    zph = pd.DataFrame(ref["zph"])
    compare("lung cox.zph (ecog as one 3-df term)", fit.ph_test["term"], fit.ph_test["statistic"], zph["statistic"], 1e-6)
    assert list(fit.ph_test["df"]) == [1, 3, 4]
    assert "robust SE clustered by inst" in fit.method
    assert "(2 rows with missing values excluded)" in fit.method


def test_strata_with_cluster_match_r(golden, compare, lung, cox_path):
    """R: coxph(Surv(time, status) ~ age + ecog + strata(sex), cluster = inst, data = lc); cox.zph."""
    fit = fit_cox(lung, "time", "status", ["age", "ecog"], categorical={"ecog": "1"}, cluster="inst", strata=["sex"],
                  min_clusters=18)
    ref = golden["cox_lung_strata"]
    compare("lung strata coef vs R", fit.summary["term"], fit.summary["coef"], ref["coef"], 1e-6)
    compare("lung strata robust SE vs R", fit.summary["term"], fit.summary["se"], ref["se"], 1e-6)
    zph = pd.DataFrame(ref["zph"])
    compare("lung strata cox.zph", fit.ph_test["term"], fit.ph_test["statistic"], zph["statistic"], 1e-6)


def test_log_partial_likelihood_matches_r(compare, cox_path):
    """R: coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, data = rossi,
    control = coxph.control(eps = 1e-12))$loglik -> -675.3806323469 -658.7476594461."""
    fit = fit_cox(load_rossi(), "week", "arrest", ROSSI, check_ph=False)
    compare("rossi loglik vs R", ["loglik"], [fit.log_likelihood], [-658.7476594461], 1e-8)


def test_stratified_cox_on_a_few_covariate_patterns_matches_r(compare, cox_path):
    """Binary covariates only, so 432 people are 26 patterns (of 32 possible), with strata. R:
    r$old <- as.integer(r$age > 25); f <- coxph(Surv(week, arrest) ~ fin + race + wexp + mar + paro + strata(old),
    data = r, control = coxph.control(eps = 1e-12, toler.chol = 1e-13)); coef(f); sqrt(diag(f$var)); f$loglik;
    cox.zph(f, transform = "km")$table[, "chisq"]."""
    df = load_rossi().assign(old=lambda d: (d["age"] > 25).astype(int))
    cov = ["fin", "race", "wexp", "mar", "paro"]
    table = RiskTable.of(df["week"], df["arrest"], df[cov], df["old"])
    assert (table is None) == (cox_path == "rows")
    assert cox_path == "rows" or (table.leaving is None) == (cox_path == "patterns")
    assert cox_path == "rows" or table.x.shape[0] == 26 and table.m.sum() == df["arrest"].sum()
    fit = fit_cox(df, "week", "arrest", cov, strata=["old"])
    compare("rossi strata coef vs R", cov, fit.summary["coef"],
            [-0.3881338449, 0.2309953365, -0.4407409494, -0.4608136198, -0.1058663147], 1e-8)
    compare("rossi strata SE vs R", cov, fit.summary["se"],
            [0.1907751424, 0.3066962319, 0.2019675713, 0.3798329553, 0.1924659415], 1e-8)
    compare("rossi strata loglik vs R", ["loglik"], [fit.log_likelihood], [-606.5721725248], 1e-8)
    compare("rossi strata cox.zph vs R", fit.ph_test["term"], fit.ph_test["statistic"],
            [0.0029166909, 1.9195633016, 8.7439670216, 2.0327812443, 0.0012143236, 11.1245691348], 1e-6)


@pytest.mark.parametrize("chunk", [efron.CHUNK, 7])
def test_cox_on_counted_rows_matches_r(compare, monkeypatch, chunk):
    """The same R fit as above (coxph(Surv(week, arrest) ~ fin + race + wexp + mar + paro + strata(old))),
    fitted on people counted per week, arrest, covariates and stratum (what the relapse page fits,
    queries.counts), with the Efron terms summed a few deaths at a time (`chunk` 7) as at any size."""
    monkeypatch.setattr(efron, "CHUNK", chunk)
    df = load_rossi().assign(old=lambda d: (d["age"] > 25).astype(int))
    cov = ["fin", "race", "wexp", "mar", "paro"]
    counted = df.groupby(["week", "arrest", *cov, "old"]).size().rename("n").reset_index()
    assert len(counted) < len(df)
    fit = fit_cox(counted, "week", "arrest", cov, strata=["old"], weights="n")
    compare("counted coef vs R", cov, fit.summary["coef"],
            [-0.3881338449, 0.2309953365, -0.4407409494, -0.4608136198, -0.1058663147], 1e-8)
    compare("counted SE vs R", cov, fit.summary["se"],
            [0.1907751424, 0.3066962319, 0.2019675713, 0.3798329553, 0.1924659415], 1e-8)
    compare("counted loglik vs R", ["loglik"], [fit.log_likelihood], [-606.5721725248], 1e-8)
    compare("counted cox.zph vs R", fit.ph_test["term"], fit.ph_test["statistic"],
            [0.0029166909, 1.9195633016, 8.7439670216, 2.0327812443, 0.0012143236, 11.1245691348], 1e-6)
    assert fit.n == 432 and fit.events == 114


def test_time_varying_cox_matches_r_counting_process_coxph(golden, compare):
    """R: coxph(Surv(start, stop, event) ~ age + year + surgery + transplant, data = heart)."""
    df = load_stanford_heart_transplants()
    cov = ["age", "year", "surgery", "transplant"]
    fit = fit_time_varying_cox(df, "id", "start", "stop", "event", cov)
    ref = golden["cox_heart"]
    compare("heart coef vs R", fit.summary["term"], fit.summary["coef"], ref["coef"], 1e-6)
    compare("heart SE vs R", fit.summary["term"], fit.summary["se"], ref["se"], 1e-6)
    assert fit.n == df["id"].nunique() and fit.events == int(df["event"].sum())


@pytest.fixture(scope="module")
def dose_ties() -> pd.DataFrame:
    """Weekly (start, stop] rows written by make_golden.R (set.seed(14)): tied event days, late entry, gaps."""
    return pd.read_csv(HERE / "data" / "dose_ties.csv")


def test_dose_reference_rows_have_tied_events_late_entry_and_entries_at_event_times(dose_ties):
    """The case tests what it claims: Efron's tie correction, and risk sets that start after their start."""
    events = dose_ties.loc[dose_ties["event"] == 1, "stop"].value_counts()
    assert (events > 1).sum() >= 20 and events.max() >= 5
    assert (dose_ties.groupby("id")["start"].min() > 0).sum() > 100
    assert dose_ties["start"].isin(events.index).sum() > 1000


def test_time_varying_cox_with_ties_and_late_entry_matches_r(golden, compare, dose_ties):
    """R: coxph(Surv(start, stop, event) ~ dose + age + site, data = dose_rows, ties = "efron",
    control = coxph.control(eps = 1e-12)): coefficients, SEs and the log partial likelihood."""
    fit = fit_time_varying_cox(dose_ties, "id", "start", "stop", "event", ["dose", "age", "site"])
    ref = golden["cox_dose_ties"]
    assert list(fit.summary["term"]) == ["dose", "age", "site[T.B]", "site[T.C]"]  # R: siteB, siteC
    compare("dose ties coef vs R", fit.summary["term"], fit.summary["coef"], ref["coef"], 1e-8)
    compare("dose ties SE vs R", fit.summary["term"], fit.summary["se"], ref["se"], 1e-8)
    compare("dose ties loglik vs R", ["loglik"], [fit.log_likelihood], [ref["loglik"]], 1e-8)
    assert fit.events == ref["n_events"] and fit.n == 400 and not fit.warnings


def test_time_varying_cox_on_rows_collapsed_to_alike_groups_matches_r(golden, compare, dose_ties):
    """R: coxph(Surv(start, stop, event) ~ dose + site, data = dose_rows, ties = "efron"): without age,
    rows alike in interval, dose and site collapse (4,894 rows to 855 groups) before the fit."""
    x = np.column_stack([dose_ties["dose"], dose_ties["site"] == "B", dose_ties["site"] == "C"])
    assert len(CountingProcess.of(dose_ties["start"], dose_ties["stop"], dose_ties["event"], x).count) == 855
    fit = fit_time_varying_cox(dose_ties, "id", "start", "stop", "event", ["dose", "site"])
    ref = golden["cox_dose_ties_no_age"]
    compare("dose ties, collapsed: coef vs R", fit.summary["term"], fit.summary["coef"], ref["coef"], 1e-8)
    compare("dose ties, collapsed: SE vs R", fit.summary["term"], fit.summary["se"], ref["se"], 1e-8)
    compare("dose ties, collapsed: loglik vs R", ["loglik"], [fit.log_likelihood], [ref["loglik"]], 1e-8)
