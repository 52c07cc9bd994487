"""Cluster-robust (sandwich) variance for a Cox model with Efron ties, as R `coxph(..., cluster = id)`.

V_robust = D'D, where D sums the dfbeta residuals (score residual × naive variance) within each cluster
(Lin & Wei 1989; Therneau & Grambsch 2000, §7.2; no small-sample factor, as R). The score residuals use
the exact Efron weighting of tied deaths, as R's `coxscore2`. lifelines' `cluster_col` uses a Breslow-style
residual under ties and so differs from R by up to ~0.5% of the SE on day-level data; this module
reproduces R. The policy of when a sandwich may be used at all (enough clusters) is `too_few_clusters`,
shared by the Cox and GEE milestone models.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peer_outcomes.pipelines import config


def too_few_clusters(n_clusters: int, cluster: str, min_clusters: int | None = None) -> str | None:
    """Why a sandwich SE must not be used with this many clusters (None when there are enough).

    With one cluster D'D is ~0 and R refuses it; with a handful it is meaningless. The threshold is
    `min_clusters`, by default `config.min_clusters()` (20, `PEER_OUTCOMES_MIN_CLUSTERS`).
    """
    needed = min_clusters or config.min_clusters()
    if n_clusters >= needed:
        return None
    many = n_clusters != 1
    return (f"{n_clusters} cluster{'s' if many else ''} of {cluster} {'are' if many else 'is'} too few for a "
            f"robust SE (at least {needed} needed)")


def _stratum_residuals(t: np.ndarray, e: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Efron score residuals for one stratum (rows in the given order)."""
    p = x.shape[1]
    order = np.argsort(-t, kind="stable")
    ts, es, xs, ws = t[order], e[order], x[order], w[order]
    wx = ws[:, None] * xs
    c0, c1 = np.cumsum(ws), np.cumsum(wx, axis=0)
    ev = np.unique(ts[es == 1])  # ascending
    last = np.searchsorted(-ts, -ev, side="right") - 1
    s0, s1 = c0[last], c1[last]
    dead = es == 1
    idx = np.searchsorted(ev, ts[dead])
    m = np.bincount(idx, minlength=len(ev)).astype(float)
    d0 = np.bincount(idx, weights=ws[dead], minlength=len(ev))
    d1 = np.zeros((len(ev), p))
    np.add.at(d1, idx, wx[dead])
    a, b = np.zeros(len(ev)), np.zeros((len(ev), p))  # Σ_k 1/s0_k and Σ_k x̄_k/s0_k
    a2, b2 = np.zeros(len(ev)), np.zeros((len(ev), p))  # the same weighted by k/m (deaths' own share)
    xbar_mean = np.zeros((len(ev), p))
    for k in range(int(m.max()) if len(m) else 0):
        active = m > k
        frac = np.where(active, k / m, 0.0)
        q0 = s0 - frac * d0
        q1 = s1 - frac[:, None] * d1
        inv = np.where(active, 1.0 / q0, 0.0)
        xbar = np.where(active[:, None], q1 / np.where(active, q0, 1.0)[:, None], 0.0)
        a += inv
        b += xbar * inv[:, None]
        a2 += frac * inv
        b2 += frac[:, None] * xbar * inv[:, None]
        xbar_mean += xbar / np.where(active, m, 1.0)[:, None]
    ca, cb = np.cumsum(a), np.cumsum(b, axis=0)
    upto = np.searchsorted(ev, ts, side="right") - 1  # last event time <= own time
    has = upto >= 0
    cum_a = np.where(has, ca[np.maximum(upto, 0)], 0.0)
    cum_b = np.where(has[:, None], cb[np.maximum(upto, 0)], 0.0)
    resid = -ws[:, None] * (xs * cum_a[:, None] - cum_b)
    own = idx  # deaths: remove the k/m share of their own event time, add the Schoenfeld part
    resid[dead] += ws[dead, None] * (xs[dead] * a2[own, None] - b2[own])
    resid[dead] += xs[dead] - xbar_mean[own]
    out = np.empty_like(resid)
    out[order] = resid
    return out


def efron_score_residuals(
    time: np.ndarray, event: np.ndarray, x: np.ndarray, beta: np.ndarray, strata: np.ndarray | None = None
) -> np.ndarray:
    """Score residuals (n × p) at β for right-censored data, Efron ties, as R residuals(fit, "score")."""
    time, event, x = np.asarray(time, float), np.asarray(event, float), np.asarray(x, float)
    eta = x @ np.asarray(beta, float)
    strata = np.zeros(len(time), int) if strata is None else np.asarray(strata)
    out = np.zeros_like(x)
    for s in np.unique(strata):
        mask = strata == s
        w = np.exp(eta[mask] - eta[mask].max())
        xc = x[mask] - x[mask].mean(axis=0)  # centring leaves residuals unchanged, keeps sums accurate
        out[mask] = _stratum_residuals(time[mask], event[mask], xc, w)
    return out


def cluster_robust_variance(
    time: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    beta: np.ndarray,
    naive_variance: np.ndarray,
    cluster: np.ndarray,
    strata: np.ndarray | None = None,
) -> np.ndarray:
    """The sandwich variance D'D with D the per-cluster sums of dfbeta = score residuals × naive variance."""
    dfbeta = efron_score_residuals(time, event, x, beta, strata) @ naive_variance
    codes = pd.factorize(pd.Series(cluster))[0]
    summed = np.zeros((codes.max() + 1, dfbeta.shape[1]))
    np.add.at(summed, codes, dfbeta)
    return summed.T @ summed
