"""The practice page's 95% CIs against independent implementations: statsmodels' Wilson and exact Poisson
intervals, and R's poisson.test / prop.test (values in the docstrings' transcripts)."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import confint_poisson

from peer_outcomes.analysis.intervals import poisson_exact, wilson

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
