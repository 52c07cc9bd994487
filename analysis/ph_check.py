"""Proportional-hazards check: the Schoenfeld-residual score test of R ≥ 3.0 `cox.zph(fit, transform="km")`.

For each term the test asks whether adding x·g(t) to the fitted model improves it, where g(t) is
1 − KM(t−) (the "km" transform, R's default) centred on its mean over events. It is the score test at
(β̂, γ = 0): U_γ = Σ_t g(t)·(Σ_deaths x − Σ Efron x̄), with the full (2p × 2p) Efron information of the
augmented model; a term's test uses the β block plus that term's γ columns (one df per column, so a
categorical covariate is tested as one term), and the global test uses all of them. R < 3.0 and
lifelines' `proportional_hazard_test` use an older approximation that differs slightly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import chdtrc  # chi2.sf itself; scipy.stats takes seconds to import

from peer_outcomes.analysis.efron import RiskTable, efron_terms

COLUMNS = ["term", "statistic", "p", "df"]


def _km_transform(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """1 − S(t−) for each subject, S the pooled Kaplan–Meier curve (R survfitKM, no strata)."""
    times, inv = np.unique(time, return_inverse=True)
    d = np.bincount(inv, weights=event)
    n = np.bincount(inv)[::-1].cumsum()[::-1]
    surv = np.cumprod(1.0 - d / n)
    before = np.r_[1.0, surv[:-1]]  # S just before each distinct time
    return 1.0 - before[inv]


def _km_transform_at(time: np.ndarray, event: np.ndarray, at: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """1 − S(t−) at the times `at` (each one of `time`), S the pooled Kaplan–Meier curve (`weights`: people
    per row, one each when None)."""
    times, inv = np.unique(time, return_inverse=True)
    d = np.bincount(inv, weights=event if weights is None else event * weights)
    n = np.bincount(inv, weights)[::-1].cumsum()[::-1]
    before = np.r_[1.0, np.cumprod(1.0 - d / n)[:-1]]
    return 1.0 - before[np.searchsorted(times, at)]


def _cross_sums(group: np.ndarray, wx: np.ndarray, x: np.ndarray, size: int) -> np.ndarray:
    """Σ over the rows of each group of (w·x)(x)' (size × p × p), one column pair at a time: an n × p × p
    array of outer products would cost far more memory and time than p(p + 1)/2 bincounts."""
    p = x.shape[1]
    out = np.empty((size, p, p))
    for i in range(p):
        for j in range(i, p):
            out[:, i, j] = out[:, j, i] = np.bincount(group, weights=wx[:, i] * x[:, j], minlength=size)
    return out


def _stratum_parts(t: np.ndarray, e: np.ndarray, x: np.ndarray, w: np.ndarray, g: np.ndarray):
    """Σ_t g·u(t), Σ_t V(t), Σ_t g·V(t), Σ_t g²·V(t), the score Σ_t u(t) and Σ_t of the log-denominator over
    this stratum's distinct event times (Efron)."""
    p = x.shape[1]
    if not (e == 1).any():
        return np.zeros(p), np.zeros((p, p)), np.zeros((p, p)), np.zeros((p, p)), np.zeros(p), 0.0
    # Collapse to distinct times first (day-level data have few), then sum over risk sets by cumsum.
    order = np.argsort(-t, kind="stable")
    t, e, x, w, g = t[order], e[order], x[order], w[order], g[order]
    _, starts = np.unique(-t, return_index=True)  # first row of each distinct time, descending
    block = np.cumsum(np.r_[0, (t[1:] != t[:-1]).astype(int)])  # distinct-time index of each row
    wx = w[:, None] * x
    s0 = np.cumsum(np.add.reduceat(w, starts))
    s1 = np.cumsum(np.add.reduceat(wx, starts, axis=0), axis=0)
    s2 = np.cumsum(_cross_sums(block, wx, x, len(starts)), axis=0)
    dead = np.flatnonzero(e == 1)  # still in time order, so each event time's deaths are contiguous
    first = np.r_[0, np.flatnonzero(np.diff(block[dead])) + 1]
    sel = block[dead[first]]
    m = np.diff(np.r_[first, len(dead)]).astype(float)
    s0, s1, s2 = s0[sel], s1[sel], s2[sel]
    d0 = np.add.reduceat(w[dead], first)
    d1 = np.add.reduceat(wx[dead], first, axis=0)
    d2 = _cross_sums(np.searchsorted(first, np.arange(len(dead)), side="right") - 1, wx[dead], x[dead], len(first))
    xsum = np.add.reduceat(x[dead], first, axis=0)
    gt = g[starts[sel]]  # g is the same for everyone with the same time
    terms = efron_terms(m, s0, s1, s2, d0, d1, d2, xsum)  # Efron ties: analysis.efron
    u, v = terms.u, terms.v
    return (
        (gt[:, None] * u).sum(axis=0),
        v.sum(axis=0),
        (gt[:, None, None] * v).sum(axis=0),
        (gt[:, None, None] ** 2 * v).sum(axis=0),
        u.sum(axis=0),
        float(terms.log_denominator.sum()),
    )


def zph_test(
    time: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    beta: np.ndarray,
    terms: dict[str, list[int]],
    strata: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per-term and GLOBAL PH tests (columns term, statistic, p, df) for a fitted Efron Cox model."""
    time, event = np.asarray(time, float), np.asarray(event, float)
    x = np.asarray(x, float)
    p = x.shape[1]
    ttimes = _km_transform(time, event)
    g = ttimes - ttimes[event == 1].mean()
    eta = x @ beta
    strata = np.zeros(len(time), int) if strata is None else np.asarray(strata)
    u = np.zeros(p)
    i11, i12, i22 = np.zeros((p, p)), np.zeros((p, p)), np.zeros((p, p))
    for s in np.unique(strata):
        m = strata == s
        w = np.exp(eta[m] - eta[m].max())
        parts = _stratum_parts(time[m], event[m], x[m], w, g[m])
        u, i11, i12, i22 = u + parts[0], i11 + parts[1], i12 + parts[2], i22 + parts[3]
    return _zph_rows(u, i11, i12, i22, terms)


def zph_test_from_table(
    table: RiskTable, beta: np.ndarray, terms: dict[str, list[int]], time: np.ndarray, event: np.ndarray,
    weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """`zph_test` from a `RiskTable` of the same rows (`time`, `event`, `weights`: the rows and the people each
    stands for, for the pooled KM transform): every part is a sum over event times, and g(t) is the same for
    everyone with an event time t."""
    raw = _km_transform_at(np.asarray(time, float), np.asarray(event, float), table.time, weights)
    g = raw - (table.m @ raw) / table.m.sum()  # centred on its mean over the deaths, as in zph_test
    parts, _ = table.terms(beta)
    u, v = parts.u, parts.v
    gv = g[:, None, None] * v
    return _zph_rows((g[:, None] * u).sum(axis=0), v.sum(axis=0), gv.sum(axis=0), (g[:, None, None] * gv).sum(axis=0),
                     terms)


def _zph_rows(u: np.ndarray, i11: np.ndarray, i12: np.ndarray, i22: np.ndarray, terms: dict[str, list[int]]) -> pd.DataFrame:
    """The per-term and GLOBAL score tests from U_γ and the blocks of the augmented information."""
    p = len(u)
    imat = np.block([[i11, i12], [i12.T, i22]])
    full_u = np.r_[np.zeros(p), u]
    rows = []
    for name, cols in terms.items():
        kk = list(range(p)) + [p + c for c in cols]
        stat = float(np.linalg.solve(imat[np.ix_(kk, kk)], full_u[kk]) @ full_u[kk])
        rows.append([name, stat, float(chdtrc(len(cols), stat)), len(cols)])
    stat = float(np.linalg.solve(imat, full_u) @ full_u)
    rows.append(["GLOBAL", stat, float(chdtrc(p, stat)), p])
    return pd.DataFrame(rows, columns=COLUMNS)


def ph_sentence(table: pd.DataFrame, level: float = 0.05) -> str:
    """One sentence saying whether proportional hazards look tenable, naming the terms that fail."""
    glob = table[table["term"] == "GLOBAL"].iloc[0]
    bad = table[(table["term"] != "GLOBAL") & (table["p"] < level)]
    how = "Schoenfeld residual test, as R cox.zph(transform='km')"
    if bad.empty and glob["p"] >= level:
        return f"Proportional hazards hold: no term departs from them (global p = {glob['p']:.3f}; {how})."
    names = ", ".join(f"{r.term} (p = {r.p:.3g})" for r in bad.itertuples()) or "no single term"
    return (
        f"Proportional hazards may not hold: {names} departs from them (global p = {glob['p']:.3g}; {how}); "
        "read those hazard ratios as averages over follow-up, or stratify on that covariate."
    )


def efron_loglik_score_information(
    time: np.ndarray, event: np.ndarray, x: np.ndarray, beta: np.ndarray, strata: np.ndarray | None = None
) -> tuple[float, np.ndarray, np.ndarray]:
    """The Efron log partial likelihood, score (its gradient) and information (minus its Hessian) at β, in
    one pass over the rows: what R coxph's Newton–Raphson steps use."""
    time, event, x = np.asarray(time, float), np.asarray(event, float), np.asarray(x, float)
    eta = x @ np.asarray(beta, float)
    strata = np.zeros(len(time), int) if strata is None else np.asarray(strata)
    loglik, score, info = 0.0, np.zeros(x.shape[1]), np.zeros((x.shape[1], x.shape[1]))
    for s in np.unique(strata):
        m = strata == s
        shifted = eta[m] - eta[m].max()
        parts = _stratum_parts(time[m], event[m], x[m], np.exp(shifted), np.zeros(int(m.sum())))
        loglik += float(shifted[event[m] == 1].sum()) - parts[5]
        score, info = score + parts[4], info + parts[1]
    return loglik, score, info


def efron_score_and_information(
    time: np.ndarray, event: np.ndarray, x: np.ndarray, beta: np.ndarray, strata: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The Efron score and information at β (`efron_loglik_score_information` without the likelihood)."""
    return efron_loglik_score_information(time, event, x, beta, strata)[1:]
