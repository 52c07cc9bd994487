"""The 95% CIs beside shares and rates against independent implementations: statsmodels' Wilson and exact
Poisson intervals, and R's poisson.test / prop.test (values in the docstrings' transcripts); on the published
milestone and dose frames they come from the published counts and are hidden with the estimate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import confint_poisson

from peer_outcomes.analysis import published
from peer_outcomes.analysis.intervals import binomial_p, clopper_pearson, poisson_exact, t_quantile, wilson
from peer_outcomes.analysis.queries import Filters
from peer_outcomes.dashboard import figures

SHARES = [(0, 15), (1, 15), (7, 15), (15, 15), (310, 485), (1500, 2550)]
RATES = [(0, 40.0), (7, 250.0), (75, 2850.0), (220, 14775.0)]


@pytest.mark.parametrize(("k", "n"), SHARES)
def test_wilson_interval_equals_statsmodels(k, n):
    lo, hi = wilson(np.array([k]), np.array([n]))
    ref = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert lo[0] == pytest.approx(ref[0], abs=1e-12) and hi[0] == pytest.approx(ref[1], abs=1e-12)


def test_wilson_interval_equals_R_prop_test():
    """R 4 (options(digits = 10)): prop.test(310, 485, correct = FALSE)$conf.int -> 0.5954957127 0.6806674432"""
    lo, hi = wilson(np.array([310]), np.array([485]))
    assert (lo[0], hi[0]) == pytest.approx((0.5954957127, 0.6806674432), abs=1e-10)


@pytest.mark.parametrize(("d", "t"), RATES)
def test_poisson_interval_equals_statsmodels_exact(d, t):
    lo, hi = poisson_exact(np.array([d]), np.array([t]), per=100)
    ref = confint_poisson(d, t, method="exact-c")
    assert lo[0] == pytest.approx(100 * ref[0], rel=1e-10, abs=1e-12) and hi[0] == pytest.approx(100 * ref[1], rel=1e-10)


def test_poisson_interval_equals_R_poisson_test():
    """R 4 (options(digits = 10)): poisson.test(7, 250)$conf.int -> 0.01125745221 0.05769070145"""
    lo, hi = poisson_exact(np.array([7]), np.array([250.0]))
    assert (lo[0], hi[0]) == pytest.approx((0.01125745221, 0.05769070145), abs=1e-11)


def test_a_missing_or_empty_denominator_gives_no_interval():
    lo, hi = wilson(np.array([np.nan, 0]), np.array([np.nan, 0]))
    assert np.isnan(lo).all() and np.isnan(hi).all()
    lo, hi = poisson_exact(np.array([np.nan, 3]), np.array([100.0, 0]))
    assert np.isnan(lo).all() and np.isnan(hi).all()


@pytest.fixture(scope="module")
def db(synth_warehouse: Path) -> Path:
    return synth_warehouse


def test_milestone_bars_carry_the_wilson_interval_of_the_published_counts_and_hide_it_with_the_share(db):
    t = published.milestones(db, Filters()).frames["attainment"]
    shown = t["share"].notna()
    assert shown.any() and (~shown).any(), "the test program has shown and hidden milestones"
    want_lo, want_hi = proportion_confint(t.loc[shown, "n_achieved"], t.loc[shown, "n_observable"], method="wilson")
    np.testing.assert_allclose(t.loc[shown, "share_lower_95"], want_lo, atol=1e-12)
    np.testing.assert_allclose(t.loc[shown, "share_upper_95"], want_hi, atol=1e-12)
    assert t.loc[~shown, ["share_lower_95", "share_upper_95"]].isna().all().all()
    fig = figures.MILESTONES.draw(published.milestones(db, Filters()))
    bar = fig.data[0]
    np.testing.assert_allclose(np.asarray(bar.error_y.array, float)[shown], (t["share_upper_95"] - t["share"])[shown])
    np.testing.assert_allclose(np.asarray(bar.error_y.arrayminus, float)[shown], (t["share"] - t["share_lower_95"])[shown])
    assert "95% CI" in bar.hovertemplate and "followed long enough" in bar.hovertemplate
    np.testing.assert_array_equal(np.asarray(bar.customdata, float)[:, 2], t["n_observable"])


def test_dose_bars_carry_the_exact_poisson_interval_and_participant_weeks(db):
    d = published.engagement(db, Filters()).frames["dose"]
    shown = d["relapses_per_100_weeks"].notna()
    assert shown.any()
    for _, row in d[shown].iterrows():
        want = confint_poisson(row["n_relapses"], row["person_weeks"], method="exact-c")
        got = (row["relapses_per_100_weeks_lower_95"], row["relapses_per_100_weeks_upper_95"])
        assert got == pytest.approx((100 * want[0], 100 * want[1]), rel=1e-10)
    assert d.loc[~shown, ["relapses_per_100_weeks_lower_95", "relapses_per_100_weeks_upper_95"]].isna().all().all()
    bar = figures.DOSE.draw(published.engagement(db, Filters())).data[0]
    assert bar.error_y.array is not None and "participant-weeks" in bar.hovertemplate


def test_cohort_cells_carry_their_number_at_risk_hidden_with_the_estimate(db):
    cells = published.cohort_retention(db, Filters()).frames["cells"]
    shown = cells["survival"].notna()
    assert shown.any() and (~shown).any()
    assert (cells.loc[shown, "n_at_risk"] >= 11).all()
    assert cells.loc[~shown, ["lower_95", "upper_95", "n_at_risk"]].isna().all().all()


BINOMIAL = [(k, n, p) for n in (1, 2, 7, 15, 40, 117, 517) for k in sorted({0, 1, n // 3, n // 2, n - 1, n})
            for p in (0.03, 0.2, 0.37, 0.5, 0.81)]  # fmt: skip


@pytest.mark.parametrize(("k", "n", "p"), BINOMIAL)
def test_exact_binomial_test_equals_scipy_stats_binomtest(k, n, p):
    """The rate ratio's p-value and Clopper–Pearson interval from scipy.special equal scipy.stats' to 1e-12."""
    from scipy.stats import binomtest

    ref = binomtest(k, n, p)
    ci = ref.proportion_ci(0.95, method="exact")
    assert binomial_p(k, n, p) == pytest.approx(ref.pvalue, abs=1e-12, rel=1e-11)
    assert clopper_pearson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-12)


@pytest.mark.parametrize("df", [1, 2, 5, 30, 1000])
def test_t_quantile_equals_scipy_stats_t_ppf(df):
    from scipy.stats import t

    assert t_quantile(0.975, df) == t.ppf(0.975, df)


def test_binomial_test_equals_R_binom_test():
    """R 4 (options(digits = 10)): b <- binom.test(3, 20, 0.4); b$p.value -> 0.02242703814;
    b$conf.int -> 0.03207093719 0.37892682655"""
    assert binomial_p(3, 20, 0.4) == pytest.approx(0.02242703814, abs=1e-10)
    assert clopper_pearson(3, 20) == pytest.approx((0.03207093719, 0.37892682655), abs=1e-10)


def test_the_practice_models_do_not_import_scipy_stats():
    """scipy.stats takes seconds to import; the practice page's models must not pull it in."""
    import subprocess
    import sys

    code = ("import sys; import peer_outcomes.analysis.practice, peer_outcomes.analysis.published_practice; "
            "print('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
