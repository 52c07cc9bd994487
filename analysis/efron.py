"""Efron's handling of tied event times in one place, and the Cox fit on counting-process (start, stop] rows.

Policy: R `survival::coxph(..., ties = "efron")`. At an event time with m tied deaths, the k-th death
(k = 0..m−1) sees the risk set less k/m of the deaths' weight. The score, information and log partial
likelihood are then functions of a few sums per event time: over those at risk, S0 = Σ w, S1 = Σ w·x,
S2 = Σ w·x·x' (w = exp(x·β)), and the same sums over the deaths. `efron_terms` turns those sums into
each event time's contribution; the right-censored Cox fit and its cox.zph test (`analysis.ph_check`) and
the time-varying fit here both use it.

Counting-process rows (Andersen & Gill 1982): a row is at risk at t when start < t ≤ stop, as R: not at
its own start (statsmodels `PHReg(entry=)` counts it there and disagrees). Only event times matter, and
each row is at risk at a run of consecutive distinct event times, found once by binary search; the
risk-set sums at every event time are then a bincount at the run's last time, less one at the time
before its first, summed from the latest time back: O(n) per Newton step, where lifelines'
`CoxTimeVaryingFitter` rebuilds each risk set (43 s for 1.4 million weekly rows; benchmarks/bench_dose.py).
Summing from the latest time back keeps the subtraction exact enough: each total is at most the rows of
people still under follow-up, not all rows. Newton–Raphson from β = 0 with step halving when the
log-likelihood falls (R's rule), until the largest step is below STEP_TOL, so β is the optimum itself
rather than where a log-likelihood criterion happened to stop (see `analysis.cox`).

Right-censored rows with categorical covariates (`RiskTable`, the relapse model) collapse further: people
alike in every covariate form one pattern, and the Efron sums at each event time need only how many of each
pattern are at risk and how many die there. Efron with integer weights equals the replicated rows, so a
Newton step is two small matrix products (event times × patterns) instead of a pass over the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

STEP_TOL = 1e-10  # stop when every coordinate of the Newton step is below this
MAX_TABLE_CELLS = 4_000_000  # event times × covariate patterns a RiskTable may hold (32 MB a matrix)
MAX_STEPS = 30  # Newton steps (R's iter.max is 20; halving can add a few)
MAX_HALVINGS = 30
SPARSE_SHARE = 2  # a RiskTable is summed by its nonzero cells (scipy.sparse) when under 1 in SPARSE_SHARE is
CHUNK = 1_000_000  # deaths whose Efron terms are summed at once (efron_terms)


@dataclass(frozen=True)
class EfronTerms:
    """Per-event-time contributions: score `u` (T × p), information `v` (T × p × p), and
    `log_denominator` (T), Σ_k log(S0 − (k/m)·D0), the part of the log partial likelihood that is not Σ x·β."""

    u: np.ndarray
    v: np.ndarray
    log_denominator: np.ndarray


def efron_terms(
    m: np.ndarray,
    s0: np.ndarray,
    s1: np.ndarray,
    s2: np.ndarray,
    d0: np.ndarray,
    d1: np.ndarray,
    d2: np.ndarray,
    xsum: np.ndarray,
) -> EfronTerms:
    """Efron score, information and log-denominator per event time from its risk-set and death sums.

    Arguments are per event time: m deaths; S0, S1, S2 over those at risk; D0, D1, D2 over the deaths
    (weighted); xsum = Σ x over the deaths (unweighted). Each term is linear in the sums with weights that
    depend on k only through a = k/m and q = S0 − a·D0, so the sums over k reduce to five numbers per
    event time (Σ 1/q, Σ a/q, Σ 1/q², Σ a/q², Σ a²/q²) and Σ log q: one entry per death, summed per event time
    by bincount (a loop over k took 0.6 s an evaluation at 10 million people, where a time has thousands of
    deaths).
    """
    m = np.asarray(m, float)
    w = np.zeros((6, len(m)))
    reps = np.ceil(m).astype(np.int64)  # k = 0..m−1 (⌈m⌉ terms with fractional weights)
    ends = np.cumsum(reps)
    lo = 0
    while lo < len(m):  # event times in chunks of about CHUNK deaths, so memory stays bounded at any size
        hi = max(int(np.searchsorted(ends, ends[lo] - reps[lo] + CHUNK, side="right")), lo + 1)
        at = np.repeat(np.arange(lo, hi), reps[lo:hi])  # one entry per (event time, k)
        k = np.arange(len(at)) - np.repeat(ends[lo:hi] - reps[lo:hi] - (ends[lo] - reps[lo]), reps[lo:hi])
        a = k / m[at]
        q = s0[at] - a * d0[at]
        q2 = q**2
        # bincount adds each time's entries in k order, as a loop over k does
        for row, v in enumerate((1 / q, a / q, 1 / q2, a / q2, a * a / q2, np.log(q))):
            w[row, lo:hi] = np.bincount(at - lo, v, hi - lo)
        lo = hi
    u = xsum - s1 * w[0][:, None] + d1 * w[1][:, None]  # Σ_deaths x − Σ_k x̄_k

    def outer(left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return left[:, :, None] * right[:, None, :]

    def per_time(weights: np.ndarray) -> np.ndarray:
        return weights[:, None, None]

    # Σ_k [(S2 − a·D2)/q − x̄_k x̄_k'], with x̄_k = (S1 − a·D1)/q
    v = (s2 * per_time(w[0]) - d2 * per_time(w[1]) - outer(s1, s1) * per_time(w[2])
         + (outer(s1, d1) + outer(d1, s1)) * per_time(w[3]) - outer(d1, d1) * per_time(w[4]))
    return EfronTerms(u, v, w[5])


@dataclass(frozen=True)
class CountingProcess:
    """(start, stop] rows reduced to what the Efron sums need.

    Rows at risk at no event time are dropped; the rest are collapsed to groups of rows alike in every
    respect that counts (first and last event time at risk, event time if a death, x), each with its
    number of rows (`count`): every sum is linear in the rows and Efron's m and Σ x count rows, so the
    fit is the same to rounding. Weekly dose rows (a few dozen weeks × a few doses) collapse several
    hundredfold (1.35 million rows of 100,000 people to 2,900 with one dose column, 11,000 with four);
    rows with a continuous covariate collapse little and are kept as they are.
    """

    x: np.ndarray  # centred covariates, one row per group
    count: np.ndarray  # rows in each group
    first: np.ndarray  # index of the first event time the group is at risk at
    last: np.ndarray  # ... and of the last
    dead: np.ndarray  # the groups of deaths
    dead_at: np.ndarray  # ... and their event time
    m: np.ndarray  # deaths per event time
    xsum: np.ndarray  # Σ x over each event time's deaths

    @classmethod
    def of(
        cls, start: np.ndarray, stop: np.ndarray, event: np.ndarray, x: np.ndarray, weights: np.ndarray | None = None
    ) -> CountingProcess:
        """Index the rows once: O(n log T) for T distinct event times, then O(n) to collapse. `weights`: how
        many alike rows each row stands for (rows already counted per cell: aggregates.week_counts)."""
        start, stop = np.asarray(start, float), np.asarray(stop, float)
        event = np.asarray(event, float) == 1
        x = np.asarray(x, float).reshape(len(stop), -1)
        weighted = weights is not None
        weight = np.asarray(weights, float) if weighted else np.ones(len(stop))
        times = np.unique(stop[event])
        size = len(times)
        first = np.searchsorted(times, start, side="right")  # first event time > start
        last = np.searchsorted(times, stop, side="right") - 1  # last event time ≤ stop
        keep = first <= last
        if not keep.all():
            x, first, last, event, weight = x[keep], first[keep], last[keep], event[keep], weight[keep]
        dead_at = np.where(event, last, size)  # a death's stop is an event time, its last; size: no death
        # one code for the three time indices (each 0..size), then the covariates
        span = size + 1
        times_code = (first * span + last) * span + dead_at if span**3 < 2**62 else _groups([first, last, dead_at])[0]
        group, rep = _groups([times_code, *x.T])
        mean = np.average(x, axis=0, weights=weight) if weighted else x.mean(axis=0)
        x = x - mean if len(x) else x  # centred, as R: smaller sums, less rounding
        count = np.bincount(group, weight)
        x, first, last, dead_at = x[rep], first[rep], last[rep], dead_at[rep]
        dead = np.flatnonzero(dead_at < size)
        dead_at = dead_at[dead]
        m = np.bincount(dead_at, count[dead], size)
        xsum = np.column_stack([np.bincount(dead_at, count[dead] * x[dead, j], size) for j in range(x.shape[1])])
        return cls(x, count, first, last, dead, dead_at, m, xsum.reshape(size, x.shape[1]))

    def at_risk_sums(self, weights: np.ndarray) -> np.ndarray:
        """Σ weights over those at risk at each event time (T × columns of `weights`)."""
        size = len(self.m)
        late = self.first > 0
        before = self.first[late] - 1
        out = np.empty((size, weights.shape[1]))
        for j in range(weights.shape[1]):
            # at risk at t_i: last ≥ i, less those whose first > i (i.e. first − 1 ≥ i)
            ending = np.bincount(self.last, weights[:, j], size)[::-1].cumsum()[::-1]
            entering = np.bincount(before, weights[late, j], size)[::-1].cumsum()[::-1]
            out[:, j] = ending - entering
        return out

    def death_sums(self, weights: np.ndarray) -> np.ndarray:
        """Σ weights over each event time's deaths (T × columns of `weights`, rows of the deaths only)."""
        size = len(self.m)
        return np.column_stack([np.bincount(self.dead_at, weights[:, j], size) for j in range(weights.shape[1])])

    def evaluate(self, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(log partial likelihood, score, information) at β, Efron ties."""
        eta = self.x @ beta
        shift = eta.max()  # exp(η − max) cannot overflow; the shift cancels in the likelihood
        w = self.count * np.exp(eta - shift)
        terms = _weighted_terms(self.m, self.xsum, self.x, w, self.at_risk_sums,
                                lambda cols: self.death_sums(cols[self.dead]))
        loglik = float(self.count[self.dead] @ (eta[self.dead] - shift) - terms.log_denominator.sum())
        return loglik, terms.u.sum(axis=0), terms.v.sum(axis=0)


def _weighted_terms(
    m: np.ndarray, xsum: np.ndarray, x: np.ndarray, w: np.ndarray,
    at_risk_sums: Callable[[np.ndarray], np.ndarray], death_sums: Callable[[np.ndarray], np.ndarray],
) -> EfronTerms:
    """`efron_terms` from row weights `w` (exp(x·β), times a group's row count): the columns w, w·x and w·x·x'
    (upper triangle) are summed over each event time's risk set and deaths by the two callables, which are
    what differ between counting-process rows and a risk table."""
    p = x.shape[1]
    pairs = [(i, j) for i in range(p) for j in range(i, p)]
    wx = w[:, None] * x
    cols = np.column_stack([w, wx, *[wx[:, i] * x[:, j] for i, j in pairs]])
    at_risk, deaths = at_risk_sums(cols), death_sums(cols)

    def square(flat: np.ndarray) -> np.ndarray:
        out = np.empty((len(flat), p, p))
        for c, (i, j) in enumerate(pairs):
            out[:, i, j] = out[:, j, i] = flat[:, c]
        return out

    return efron_terms(m, at_risk[:, 0], at_risk[:, 1:p + 1], square(at_risk[:, p + 1:]),
                       deaths[:, 0], deaths[:, 1:p + 1], square(deaths[:, p + 1:]), xsum)


def _groups(columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Group code of each row (rows equal in every column share one) and the first row of each group.

    Each column becomes integer codes (a column of small whole numbers — times as indices, session counts —
    as it is, anything else hashed), combined arithmetically into one code per row and numbered densely
    at the end: O(n), where sorting rows would be O(n log n). When most rows are distinct (e.g. a
    continuous covariate) grouping cannot pay and every row is its own group.
    """
    n = len(columns[0])
    code, bound = np.zeros(n, np.int64), 1
    for col in columns:
        values, k = _codes(np.asarray(col))
        if bound * k >= 2**62:  # renumber densely before the product could overflow (then bound ≤ n)
            code, bound = _dense(code, bound)
        code, bound = code * k + values, bound * k
    code, size = _dense(code, bound)
    if size > n // 2:
        return np.arange(n), np.arange(n)
    rep = np.empty(size, np.int64)
    rep[code[::-1]] = np.arange(n)[::-1]  # the first row of each group
    return code, rep


def _codes(col: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer codes 0..k−1 of one column's values, and k."""
    if col.dtype.kind in "iu":
        return _dense(col - col.min(), int(col.max() - col.min()) + 1) if len(col) else (col.astype(np.int64), 1)
    if len(col):
        lo, hi = col.min(), col.max()
        if hi - lo < 2**16 and np.array_equal(col, np.round(col)):
            return (col - lo).astype(np.int64), int(hi - lo) + 1
    values, uniques = pd.factorize(col)
    return values.astype(np.int64), max(len(uniques), 1)


def _dense(code: np.ndarray, bound: int) -> tuple[np.ndarray, int]:
    """Codes renumbered 0..size−1 (size distinct): by a table of the bound's length when that is short."""
    if bound <= 4 * len(code) + 1024:
        present = np.bincount(code, minlength=bound) > 0
        ids = np.cumsum(present) - 1
        return ids[code], int(present.sum())
    values, uniques = pd.factorize(code)
    return values.astype(np.int64), len(uniques)


@dataclass(frozen=True)
class CoxFit:
    """β, its model-based variance (inverse information), log partial likelihood, and whether the Newton
    steps converged (largest step below STEP_TOL) within MAX_STEPS."""

    beta: np.ndarray
    variance: np.ndarray
    log_likelihood: float
    converged: bool
    steps: int


def fit_counting_process(
    start: np.ndarray, stop: np.ndarray, event: np.ndarray, x: np.ndarray, weights: np.ndarray | None = None
) -> CoxFit:
    """Cox model on (start, stop] rows with Efron ties, as R `coxph(Surv(start, stop, event) ~ x)`; `weights`
    counts the alike rows a row stands for (the fit equals that of the rows repeated).

    Raises `np.linalg.LinAlgError` when the information is singular (a collinear column the estimability
    check did not remove).
    """
    cp = CountingProcess.of(start, stop, event, x, weights)
    return newton(cp.evaluate, cp.x.shape[1])


def newton(evaluate: Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]], p: int) -> CoxFit:
    """Newton–Raphson from β = 0 on `evaluate` (β → log-likelihood, score, information), halving a step
    while the log-likelihood falls (R's rule), until the largest step is below STEP_TOL.

    Raises `np.linalg.LinAlgError` when the information is singular.
    """
    beta = np.zeros(p)
    loglik, score, info = evaluate(beta)
    for steps in range(1, MAX_STEPS + 1):
        step = np.linalg.solve(info, score)
        if not np.all(np.isfinite(step)):
            break
        if np.max(np.abs(step), initial=0.0) < STEP_TOL:
            return CoxFit(beta + step, np.linalg.inv(info), loglik, True, steps)
        # R's rule: halve the step while the log-likelihood falls (beyond rounding)
        slack = 1e-12 * (1.0 + abs(loglik))
        new = evaluate(beta + step)
        for _ in range(MAX_HALVINGS):
            if np.isfinite(new[0]) and new[0] >= loglik - slack:
                break
            step = step / 2
            new = evaluate(beta + step)
        beta = beta + step
        loglik, score, info = new
    return CoxFit(beta, np.linalg.pinv(info), loglik, False, MAX_STEPS)


@dataclass(frozen=True)
class RiskTable:
    """Right-censored rows as counts per event time × covariate pattern (per stratum): see the module docstring.

    Rows of `at_risk` and `deaths` are the event times of each stratum in turn (`time` holds their values);
    columns are the distinct covariate rows (`x`, centred). Built in O(n) once; each evaluation then costs
    O(T·P·p²) in two matrix products, independent of the number of people. When most cells are empty (a
    site's or a track's people: a few thousand cells of a table of hundreds of thousands), the sums over
    those at risk are taken from the cells people leave the risk set at (`leaving`, a scipy.sparse matrix),
    summed per event time and then from the latest time back, and the deaths' from their own cells:
    O(cells·p²), not O(T·P·p²).
    """

    x: np.ndarray  # P × p centred covariate patterns
    at_risk: np.ndarray  # T × P number at risk
    deaths: np.ndarray  # T × P deaths
    m: np.ndarray  # deaths per event time
    xsum: np.ndarray  # Σ x over each event time's deaths (T × p)
    time: np.ndarray  # the event times' values (T)
    leaving: Any = None  # T × P sparse (CSR): people at risk last at each event time (None: the dense tables)
    dying: Any = None  # the deaths, sparse
    blocks: tuple[int, ...] = ()  # event times of each stratum in turn

    @classmethod
    def of(
        cls, time: np.ndarray, event: np.ndarray, x: np.ndarray, strata: np.ndarray | None = None,
        weights: np.ndarray | None = None,
    ) -> RiskTable | None:
        """The table of these rows, or None when it would exceed MAX_TABLE_CELLS (a continuous covariate).
        `weights`: how many people each row stands for (one each when None), e.g. people per time and pattern."""
        time, dead = np.asarray(time, float), np.asarray(event, float) == 1
        w = None if weights is None else np.asarray(weights, float)
        x = np.asarray(x, float).reshape(len(time), -1)
        pattern, rep = _groups(list(x.T)) if x.shape[1] else (np.zeros(len(time), np.int64), np.zeros(1, np.int64))
        size = len(rep)
        strata = np.zeros(len(time), np.int64) if strata is None else pd.factorize(pd.Series(strata))[0]
        blocks = [(s, np.unique(time[(strata == s) & dead])) for s in np.unique(strata)]
        if sum(len(ev) for _, ev in blocks) * size > MAX_TABLE_CELLS:
            return None
        at_risk, leaving, deaths, times = [], [], [], []
        for s, ev in blocks:
            rows = strata == s
            last = np.searchsorted(ev, time[rows], side="right") - 1  # at risk at event times 0..last
            seen = last >= 0
            cell = last[seen] * size + pattern[rows][seen]
            counts = np.bincount(cell, None if w is None else w[rows][seen], minlength=len(ev) * size)
            leaving.append(counts.reshape(len(ev), size))
            at_risk.append(leaving[-1][::-1].cumsum(axis=0)[::-1])
            d = rows & dead
            cell = np.searchsorted(ev, time[d]) * size + pattern[d]
            deaths.append(np.bincount(cell, None if w is None else w[d], minlength=len(ev) * size).reshape(len(ev), size))
            times.append(ev)
        mean = (x.mean(axis=0) if w is None else np.average(x, axis=0, weights=w)) if len(x) else 0.0
        xc = x - mean  # centred, as R: smaller sums, less rounding
        patterns = xc[rep]
        death_counts = np.vstack(deaths).astype(float)
        leave = np.vstack(leaving).astype(float)
        leaving = dying = None
        if int(np.count_nonzero(leave)) * SPARSE_SHARE < leave.size:
            from scipy import sparse  # 0.3 s to import; the dashboard's server imports it at start (serve.py)

            leaving, dying = sparse.csr_array(leave), sparse.csr_array(death_counts)
        return cls(patterns, np.vstack(at_risk).astype(float), death_counts, death_counts.sum(axis=1),
                   death_counts @ patterns, np.concatenate(times), leaving, dying, tuple(len(ev) for _, ev in blocks))

    def _at_risk_sums(self, cols: np.ndarray) -> np.ndarray:
        """Σ cols over those at risk at each event time: from the cells people leave at, summed from the latest
        event time of each stratum back, when the table is mostly empty; else one dense product."""
        if self.leaving is None:
            return self.at_risk @ cols
        out = np.asarray(self.leaving @ cols)
        start = 0
        for n in self.blocks:
            out[start:start + n] = out[start:start + n][::-1].cumsum(axis=0)[::-1]
            start += n
        return out

    def terms(self, beta: np.ndarray) -> tuple[EfronTerms, float]:
        """Each event time's Efron terms at β, and Σ η over the deaths (η = x·β less its maximum, the shift
        that keeps exp(η) finite and cancels in the likelihood)."""
        eta = self.x @ beta
        eta = eta - eta.max()
        w = np.exp(eta)
        terms = _weighted_terms(self.m, self.xsum, self.x, w, self._at_risk_sums,
                                lambda cols: self.deaths @ cols if self.dying is None else np.asarray(self.dying @ cols))
        return terms, float(self.deaths.sum(axis=0) @ eta)

    def evaluate(self, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(log partial likelihood, score, information) at β, Efron ties."""
        terms, eta_dead = self.terms(beta)
        return eta_dead - float(terms.log_denominator.sum()), terms.u.sum(axis=0), terms.v.sum(axis=0)
