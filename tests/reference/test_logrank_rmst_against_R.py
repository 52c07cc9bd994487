"""Log-rank tests and restricted mean survival time against R survival 3.5 and statsmodels."""

from __future__ import annotations

import pandas as pd
import pytest
from lifelines.datasets import load_lung, load_rossi, load_waltons
from statsmodels.duration.survfunc import survdiff

from peer_outcomes.analysis.logrank import logrank_test
from peer_outcomes.analysis.rmst import rmst


def test_two_group_logrank_matches_r_survdiff_and_statsmodels(golden, compare):
    """R: survdiff(Surv(T, E) ~ group, data = waltons)."""
    df = load_waltons()
    ours = logrank_test(df, "T", "E", "group").summary.iloc[0]
    ref = golden["logrank"]["waltons"]
    sm_stat, sm_p = survdiff(df["T"], df["E"], df["group"])
    compare("waltons log-rank", ["chisq", "df", "p"], [ours.statistic, ours.df, ours.p],
            [ref["statistic"], ref["df"], ref["p"]], 1e-9)
    compare("waltons log-rank vs statsmodels", ["chisq"], [ours.statistic], [sm_stat], 1e-9)
    assert ours.n == 163 and ours.events == 156


def test_four_group_logrank_matches_r_survdiff(golden, compare):
    """R: survdiff(Surv(time, status) ~ ph.ecog, data = lung)  (3 df; one missing ph.ecog left out)."""
    df = load_lung()
    ours = logrank_test(df, "time", "status", "ph.ecog").summary.iloc[0]
    ref = golden["logrank"]["lung_ecog"]
    sub = df.dropna(subset=["ph.ecog"])
    sm_stat, _ = survdiff(sub["time"], sub["status"], sub["ph.ecog"])
    compare("lung ph.ecog log-rank", ["chisq", "df", "p"], [ours.statistic, ours.df, ours.p],
            [ref["statistic"], ref["df"], ref["p"]], 1e-9)
    compare("lung ph.ecog vs statsmodels", ["chisq"], [ours.statistic], [sm_stat], 1e-9)


def test_stratified_logrank_matches_r_survdiff_strata(golden, compare):
    """R: survdiff(Surv(week, arrest) ~ fin + strata(wexp), data = rossi)."""
    df = load_rossi()
    ours = logrank_test(df, "week", "arrest", "fin", strata="wexp").summary.iloc[0]
    ref = golden["logrank"]["rossi_fin_strata_wexp"]
    sm_stat, _ = survdiff(df["week"], df["arrest"], df["fin"], strata=df["wexp"])
    compare("rossi fin | strata(wexp)", ["chisq", "df", "p"], [ours.statistic, ours.df, ours.p],
            [ref["statistic"], ref["df"], ref["p"]], 1e-9)
    compare("rossi stratified vs statsmodels", ["chisq"], [ours.statistic], [sm_stat], 1e-9)
    assert ours.test == "stratified log-rank"


def test_rmst_and_its_standard_error_match_r_print_survfit_rmean(golden, compare):
    """R: summary(survfit(Surv(T, E) ~ group, waltons), rmean = 50)$table[, c("rmean", "se(rmean)")];
    the same for survfit(Surv(week, arrest) ~ fin, rossi) at 52 (= last follow-up) and ~ 1 at 30."""
    cases = [
        ("waltons_50", load_waltons(), ("T", "E"), 50, "group"),
        ("rossi_fin_52", load_rossi(), ("week", "arrest"), 52, "fin"),
        ("rossi_30", load_rossi(), ("week", "arrest"), 30, None),
    ]
    for name, df, (d, e), tau, group in cases:
        ours = rmst(df, d, e, tau, group).summary
        ref = pd.DataFrame(golden["rmst"][name])
        compare(f"RMST {name}", ours["group"], ours["rmst"], ref["rmst"], 1e-9)
        compare(f"RMST SE {name}", ours["group"], ours["se"], ref["se"], 1e-9)
        assert (ours["lower_95"] < ours["rmst"]).all() and (ours["rmst"] < ours["upper_95"]).all()


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
def test_rmst_se_is_not_lifelines_variance_of_truncated_time():
    """The trap in recipes.md: lifelines' return_variance gives Var(min(T, tau)), far larger than the
    variance of the RMST estimate; ours must be the latter."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time

    df = load_rossi()
    kmf = KaplanMeierFitter().fit(df["week"], df["arrest"])
    _, var_trunc = restricted_mean_survival_time(kmf, t=30, return_variance=True)
    ours = rmst(df, "week", "arrest", 30).summary.iloc[0]
    print(f"\nRMST SE ours {ours.se:.4f} vs sqrt(lifelines variance) {var_trunc ** 0.5:.4f}")
    assert ours.se < var_trunc**0.5 / 5
