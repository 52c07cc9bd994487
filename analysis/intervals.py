"""95% confidence intervals for the shares and rates the published layer shows beside every number.

A share k/n gets the Wilson score interval (R `prop.test(k, n, correct = FALSE)`, statsmodels
`proportion_confint(method="wilson")`): it stays inside 0–1 and behaves at 0 and n, where the Wald interval
does not. A rate of events per exposure gets the exact (Garwood) Poisson interval from chi-square quantiles
(R `poisson.test`). Both take arrays; a missing count gives a missing bound.

The exact binomial test and its Clopper–Pearson interval (R `binom.test`, scipy.stats `binomtest`) and the t
quantile are here too, from `scipy.special` alone: importing `scipy.stats` takes seconds, on every page that
imported it (tests/unit/test_intervals.py checks them against scipy.stats to 1e-12).
"""

from __future__ import annotations

import numpy as np
from scipy.special import bdtr, bdtrc, betaincinv, betaln, gammaincinv, ndtri, stdtrit  # not scipy.stats

Z95 = float(ndtri(0.975))


def _chi2_ppf(q: float, df: np.ndarray) -> np.ndarray:
    """chi2.ppf(q, df) as scipy.stats computes it (2 · gammaincinv(df/2, q)); NaN where df ≤ 0."""
    with np.errstate(invalid="ignore"):
        return np.where(df > 0, 2 * gammaincinv(np.maximum(df, 0) / 2, q), np.nan)


def wilson(k: np.ndarray, n: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score 95% interval of k/n, as R `prop.test(k, n, correct = FALSE)$conf.int`; NaN where n <= 0."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    ok = n > 0
    return np.where(ok, np.clip(centre - half, 0, 1), np.nan), np.where(ok, np.clip(centre + half, 0, 1), np.nan)


def poisson_exact(events: np.ndarray, exposure: np.ndarray, per: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) 95% interval of per x events / exposure, as R `poisson.test(events, exposure)$conf.int`."""
    d, t = np.asarray(events, float), np.asarray(exposure, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = np.where(d > 0, _chi2_ppf(0.025, 2 * d) / 2, 0.0) / t * per
        hi = _chi2_ppf(0.975, 2 * (d + 1)) / 2 / t * per
    ok = (t > 0) & np.isfinite(d)
    return np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)


def t_quantile(q: float, df: float) -> float:
    """The q quantile of Student's t with `df` degrees of freedom, as scipy.stats `t.ppf(q, df)` (`stdtrit`)."""
    return float(stdtrit(df, q))


def _binom_pmf(k: float, n: int, p: float) -> float:
    """P(X = k) for X ~ Binomial(n, p), through the log of the beta function (relative error ~1e-14)."""
    if p in (0.0, 1.0):
        return float(k == (n if p == 1.0 else 0))
    return float(np.exp(k * np.log(p) + (n - k) * np.log1p(-p) - np.log(n + 1) - betaln(n - k + 1, k + 1)))


def _other_side(pmf, d: float, lo: float, hi: float) -> float:  # noqa: ANN001
    """The largest i in [lo, hi] with pmf(i) <= d, pmf ordered ascending there (scipy's binary search)."""
    while lo < hi:
        mid = lo + (hi - lo) // 2
        value = pmf(mid)
        if value < d:
            lo = mid + 1
        elif value > d:
            hi = mid - 1
        else:
            return mid
    return lo if pmf(lo) <= d else lo - 1


def binomial_p(k: int, n: int, p: float) -> float:
    """Two-sided exact binomial p-value of k successes in n at probability p, as R `binom.test(k, n, p)` and
    scipy.stats `binomtest(k, n, p).pvalue`: the probability of outcomes no likelier than k (relative 1e-7)."""
    d, rerr = _binom_pmf(k, n, p), 1 + 1e-7
    if k == p * n:
        return 1.0
    if k < p * n:
        ix = _other_side(lambda i: -_binom_pmf(i, n, p), -d * rerr, np.ceil(p * n), n)
        y = n - ix + int(d * rerr == _binom_pmf(ix, n, p))
        pval = bdtr(k, n, p) + bdtrc(n - y, n, p)
    else:
        ix = _other_side(lambda i: _binom_pmf(i, n, p), d * rerr, 0, np.floor(p * n))
        pval = (bdtr(ix, n, p) if ix >= 0 else 0.0) + bdtrc(k - 1, n, p)
    return float(min(1.0, pval))


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval of k/n, as R `binom.test(k, n)$conf.int`: beta quantiles."""
    alpha = (1 - level) / 2
    lower = 0.0 if k == 0 else float(betaincinv(k, n - k + 1, alpha))
    upper = 1.0 if k == n else float(betaincinv(k + 1, n - k, 1 - alpha))
    return lower, upper
