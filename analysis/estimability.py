"""Which terms of a regression the data can estimate: the rest are reported as not estimable, never as numbers.

R reports NA for a term whose column adds no information (`coxph` and `glm` find it while factoring the
information matrix); lifelines and statsmodels may instead return a number after failing to converge. Two
checks, run before fitting, so that only estimable columns are fitted:

- **No information.** The information matrix at β = 0 — for a Cox model Σ over event times of the
  covariance of x among those at risk (Breslow form; (start, stop] rows count as at risk in the interval),
  for a logistic model the covariance of x — is factored column by column in model order, as R's
  `cholesky2`: a column whose remaining pivot is below `TOL` times its scale is not estimable. That catches
  a collinear column (the later of the pair, as R) and a column that is the same for everyone at risk at
  every event time (its information is zero although it varies across rows).
- **Too few events.** A 0/1 column (a categorical level) with no events on one side has an infinite
  maximum-likelihood estimate (monotone likelihood in Cox; separation in logistic regression), so the
  "estimate" is only where the iterations stopped: for Cox, no events among those with the level or none
  among those without it; for logistic, an outcome that does not vary within the level or outside it.
  The other terms' estimates are then their limit, in which the rows on that side carry no information
  (zero weight in every risk set, or perfectly predicted); those rows are left out of the fit, which
  gives that limit exactly, and the check repeats on what is left.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TOL = 1e-9  # a pivot below TOL x the column's own scale carries no information (R: toler.chol, ~1.8e-12, on a
# differently scaled matrix; this scale makes the rule independent of the column's units)

NO_INFORMATION = "it does not vary among the people at risk when events happen"
COLLINEAR = "it is determined by the other terms in the model (collinear)"
TOO_FEW_EVENTS = "too few events: {side} has none"
NOT_VARYING = "the outcome does not vary {side}"


def _at_risk_sum(w: np.ndarray, index: tuple) -> np.ndarray:
    """Σ w over those at risk at each event time: stop ≥ t, minus those not yet entered (start ≥ t).
    `index` holds each row's stop and start positions on the grid of distinct times, the event times'
    positions, and the grid's length."""
    at_stop, at_start, at_ev, size = index
    total = np.bincount(at_stop, weights=w, minlength=size)[::-1].cumsum()[::-1]
    if at_start is not None:
        total = total - np.bincount(at_start, weights=w, minlength=size)[::-1].cumsum()[::-1]
    return total[at_ev]


def risk_set_information(
    stop: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    start: np.ndarray | None = None,
    strata: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Σ over event times of d · Cov(x among those at risk), at β = 0: the Cox information (Breslow form).

    At risk at t: stop ≥ t and (with `start`) start < t. Rows are first summed per distinct time (day-level
    data have few), one column or column pair at a time, so memory stays O(n) and the risk-set sums are
    cumulative sums over the distinct times. `weights`: how many people each row stands for (one each when None).
    """
    stop, event = np.asarray(stop, float), np.asarray(event, float)
    x = np.asarray(x, float)
    w = np.ones(len(stop)) if weights is None else np.asarray(weights, float)
    x = x - (x.mean(axis=0) if weights is None else np.average(x, axis=0, weights=w) if len(x) else 0.0)
    n, p = x.shape
    strata = np.zeros(n, int) if strata is None else pd.factorize(pd.Series(strata))[0]
    pairs = [(i, j) for i in range(p) for j in range(i, p)]
    info = np.zeros((p, p))
    for s in np.unique(strata):
        m = strata == s
        dead = event[m] == 1
        ev, inv = np.unique(stop[m][dead], return_inverse=True)
        if not len(ev):
            continue
        d = np.bincount(inv, weights=w[m][dead], minlength=len(ev))
        xs, ws = x[m], w[m]
        begin = None if start is None else np.asarray(start, float)[m]
        grid = np.unique(stop[m] if begin is None else np.r_[stop[m], begin])
        at_stop = np.searchsorted(grid, stop[m])
        at_start = None if begin is None else np.searchsorted(grid, begin)
        at_ev = np.searchsorted(grid, ev)

        index = (at_stop, at_start, at_ev, len(grid))
        by_pattern = None if begin is not None else _pattern_sums(xs, ws, at_stop, at_ev, len(grid), pairs)
        s0 = _at_risk_sum(ws, index) if by_pattern is None else by_pattern[:, 0]
        ok = s0 > 0
        sums = (np.column_stack([_at_risk_sum(ws * xs[:, i], index) for i in range(p)]) if by_pattern is None
                else by_pattern[:, 1:p + 1])
        mean = sums[ok] / s0[ok, None]
        for c, (i, j) in enumerate(pairs):
            pair = _at_risk_sum(ws * xs[:, i] * xs[:, j], index) if by_pattern is None else by_pattern[:, p + 1 + c]
            v = float(np.sum(d[ok] * (pair[ok] / s0[ok] - mean[:, i] * mean[:, j])))
            info[i, j] = info[j, i] = info[i, j] + v
    return info


def _pattern_sums(
    x: np.ndarray, w: np.ndarray, at_stop: np.ndarray, at_ev: np.ndarray, size: int, pairs: list[tuple[int, int]]
) -> np.ndarray | None:
    """Σ w, Σ w·x and Σ w·x_i·x_j (columns in that order, pairs as listed) over those at risk at each event
    time, for right-censored rows: the rows are tabulated per time × covariate pattern (a categorical design
    has a few hundred patterns), so every sum is one matrix product instead of a pass over the rows per
    column pair. None when the table would be too large (a continuous covariate): then row by row."""
    from peer_outcomes.analysis.efron import MAX_TABLE_CELLS, _groups

    if not x.shape[1] or not len(x):
        return None
    pattern, rep = _groups(list(x.T))
    n_patterns = len(rep)
    if n_patterns * size > MAX_TABLE_CELLS:
        return None
    table = np.bincount(at_stop * n_patterns + pattern, weights=w, minlength=size * n_patterns)
    at_risk = table.reshape(size, n_patterns)[::-1].cumsum(axis=0)[::-1][at_ev]
    xp = x[rep]
    return at_risk @ np.column_stack([np.ones(n_patterns), xp, *[xp[:, i] * xp[:, j] for i, j in pairs]])


def aliased_columns(info: np.ndarray, scale: np.ndarray, tol: float = TOL) -> dict[int, str]:
    """Columns (index → reason) whose pivot, factoring `info` in column order, is below tol × scale."""
    keep: list[int] = []
    out: dict[int, str] = {}
    for i in range(info.shape[0]):
        own = info[i, i]
        proj = 0.0
        if keep:
            k = np.array(keep)
            proj = float(info[i, k] @ np.linalg.solve(info[np.ix_(k, k)], info[k, i]))
        if not scale[i] > 0 or not own > tol * scale[i]:
            out[i] = NO_INFORMATION
        elif not own - proj > tol * scale[i]:
            out[i] = COLLINEAR
        else:
            keep.append(i)
    return out


def _indicators(x: pd.DataFrame | np.ndarray) -> list[int]:
    """Positions of the 0/1 columns (categorical levels, yes/no covariates) that take both values."""
    values = np.asarray(x, float)
    return [i for i in range(values.shape[1])
            if values[:, i].min(initial=np.inf) == 0 and values[:, i].max(initial=-np.inf) == 1
            and np.all((values[:, i] == 0) | (values[:, i] == 1))]  # as set(unique) == {0, 1}, without a sort


def cox_not_estimable(
    x: pd.DataFrame,
    stop: np.ndarray,
    event: np.ndarray,
    start: np.ndarray | None = None,
    strata: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> tuple[dict[str, str], np.ndarray]:
    """Columns of a Cox design that cannot be estimated (name → reason in words), and the rows to fit.

    A level with no events on one side has an infinite estimate; the other terms' estimates are their
    limit, in which the people on the side without events drop out of every risk set (weight e^{±∞}
    relative to the rest), so those rows are left out of the fit, which gives that limit exactly.
    `weights`: how many people each row stands for (a table of people per time and covariate pattern).
    """
    w = np.ones(len(x)) if weights is None else np.asarray(weights, float)
    event = np.asarray(event, float) * w  # events per row: only whether a side has none matters below
    start = None if start is None else np.asarray(start, float)
    strata = None if strata is None else np.asarray(strata)
    stop = np.asarray(stop, float)

    def one_pass(cols: list[str], rows: np.ndarray) -> tuple[dict[str, str], np.ndarray]:
        values = x[cols].to_numpy(float)[rows]
        ev, wr = event[rows], w[rows]
        info = risk_set_information(stop[rows], (ev > 0).astype(float), values, None if start is None else start[rows],
                                    None if strata is None else strata[rows], None if weights is None else wr)
        spread = values.var(axis=0) if weights is None else np.average((values - np.average(values, axis=0, weights=wr)) ** 2, axis=0, weights=wr)
        found = {cols[i]: r for i, r in aliased_columns(info, ev.sum() * spread).items()}
        drop = np.zeros(len(x), bool)
        for i in _indicators(values):
            if cols[i] in found:
                continue
            level = np.zeros(len(x), bool)
            level[rows] = values[:, i] == 1
            if event[level].sum() == 0:
                found[cols[i]], drop = TOO_FEW_EVENTS.format(side="this group"), drop | level
            elif event[rows & ~level].sum() == 0:
                found[cols[i]], drop = TOO_FEW_EVENTS.format(side="the comparison group"), drop | (rows & ~level)
        return found, drop

    return _until_stable(list(x.columns), len(x), one_pass)


def logit_not_estimable(x: pd.DataFrame, y: np.ndarray) -> tuple[dict[str, str], np.ndarray]:
    """Columns of a logistic design that cannot be estimated (name → reason in words), and the rows to fit.

    A level (or its complement) in which the outcome does not vary is separated: its estimate is
    infinite, those rows are predicted perfectly in the limit, so they are left out of the fit.
    """
    y = np.asarray(y, float)

    def one_pass(cols: list[str], rows: np.ndarray) -> tuple[dict[str, str], np.ndarray]:
        values = x.loc[rows, cols].to_numpy(float)
        cov = np.cov(values, rowvar=False).reshape(len(cols), len(cols)) if len(values) > 1 else np.zeros((len(cols),) * 2)
        found = {cols[i]: r for i, r in aliased_columns(cov, values.var(axis=0, ddof=1)).items()}
        drop = np.zeros(len(x), bool)
        for i in _indicators(x.loc[rows, cols]):
            if cols[i] in found:
                continue
            level = np.zeros(len(x), bool)
            level[rows] = values[:, i] == 1
            for side, part in (("in this group", level), ("in the comparison group", rows & ~level)):
                if part.any() and np.ptp(y[part]) == 0:
                    found[cols[i]], drop = NOT_VARYING.format(side=side), drop | part
                    break
        return found, drop

    return _until_stable(list(x.columns), len(x), one_pass)


def _until_stable(columns: list[str], n: int, one_pass) -> tuple[dict[str, str], np.ndarray]:
    """Repeat a check on the columns and rows still in the fit until it finds nothing new (leaving rows
    out can make another column constant or separated)."""
    reasons: dict[str, str] = {}
    rows = np.ones(n, bool)
    while True:
        live = [c for c in columns if c not in reasons]
        if not live or not rows.any():
            break
        found, drop = one_pass(live, rows)
        if not found:
            break
        reasons.update(found)
        rows &= ~drop
    return {c: reasons[c] for c in columns if c in reasons}, rows


def not_estimable_warnings(reasons: dict[str, str], labels: dict[str, str]) -> tuple[str, ...]:
    """One plain sentence per term left out of the fit."""
    return tuple(f"“{labels.get(c, c)}” is not estimable: {why}." for c, why in reasons.items())
