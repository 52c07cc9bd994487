"""95% confidence intervals for the shares and rates the published layer shows beside every number.

A share k/n gets the Wilson score interval (R `prop.test(k, n, correct = FALSE)`, statsmodels
`proportion_confint(method="wilson")`): it stays inside 0–1 and behaves at 0 and n, where the Wald interval
does not. A rate of events per exposure gets the exact (Garwood) Poisson interval from chi-square quantiles
(R `poisson.test`). Both take arrays; a missing count gives a missing bound.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaincinv, ndtri  # what scipy.stats calls: it takes seconds to import

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
