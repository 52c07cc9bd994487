"""Log-rank test of equal survival across two or more groups, optionally stratified, as R `survdiff`.

The statistic is (O − E)' V⁻ (O − E) over the groups, with the hypergeometric variance summed over
distinct event times (and over strata when given: observed, expected and variance are summed stratum by
stratum, so groups are compared only within strata). Degrees of freedom are the rank of V (groups − 1),
as R `survdiff(Surv(time, event) ~ group + strata(s))` and statsmodels `survdiff(..., strata=)`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import chdtrc  # chi2.sf itself; scipy.stats takes seconds to import

from peer_outcomes.analysis.frames import AnalysisInputError, survival_frame
from peer_outcomes.analysis.results import ModelResult, excluded_rows

COLUMNS = ["test", "statistic", "df", "p", "n", "events"]


def _observed_expected(t: np.ndarray, e: np.ndarray, g: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """O, E (length k) and V (k×k) for one stratum; g holds group indices 0..k-1."""
    event_times = np.unique(t[e == 1])
    at_risk = np.empty((len(event_times), k))
    deaths = np.zeros((len(event_times), k))
    for j in range(k):
        tj = np.sort(t[g == j])
        at_risk[:, j] = len(tj) - np.searchsorted(tj, event_times, side="left")
        idx = np.searchsorted(event_times, t[(g == j) & (e == 1)])
        np.add.at(deaths[:, j], idx, 1.0)
    n = at_risk.sum(axis=1)
    d = deaths.sum(axis=1)
    observed = deaths.sum(axis=0)
    expected = (d[:, None] * at_risk / n[:, None]).sum(axis=0)
    share = at_risk / n[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    var = np.einsum("t,tj->j", factor, share)
    cov = np.diag(var) - np.einsum("t,ti,tj->ij", factor, share, share)
    return observed, expected, cov


def logrank_test(
    df: pd.DataFrame, duration: str, event: str, group: str, strata: str | list[str] | None = None
) -> ModelResult:
    """Log-rank test (as R `survdiff`, see module docstring); `.summary` is one row: test, statistic, df, p,
    n, events."""
    strata_cols = [strata] if isinstance(strata, str) else list(strata or [])
    data, dropped = survival_frame(df, duration, event, [group, *strata_cols])
    levels = sorted(data[group].astype(str).unique())
    if len(levels) < 2:
        raise AnalysisInputError(f"The log-rank test needs at least two groups in {group!r}.")
    gi = pd.Categorical(data[group].astype(str), categories=levels).codes
    k = len(levels)
    o, ex, v = np.zeros(k), np.zeros(k), np.zeros((k, k))
    keys = data[strata_cols].astype(str).agg("|".join, axis=1) if strata_cols else pd.Series(0, index=data.index)
    t_all, e_all = data[duration].to_numpy(float), data[event].to_numpy(int)
    for key in keys.unique():
        m = (keys == key).to_numpy()
        oo, ee, vv = _observed_expected(t_all[m], e_all[m], gi[m], k)
        o, ex, v = o + oo, ex + ee, v + vv
    diff = (o - ex)[:-1]
    vsub = v[:-1, :-1]
    dof = int(np.linalg.matrix_rank(vsub))
    stat = float(diff @ np.linalg.pinv(vsub) @ diff) if dof else float("nan")
    name = "stratified log-rank" if strata_cols else "log-rank"
    summary = pd.DataFrame(
        [[name, stat, dof, float(chdtrc(dof, stat)) if dof else float("nan"), len(data), int(e_all.sum())]],
        columns=COLUMNS,
    )
    within = f", stratified by {', '.join(strata_cols)}" if strata_cols else ""
    excluded = excluded_rows(dropped)
    how = f"Log-rank test across {group}{within}, as R survdiff"
    return ModelResult(summary=summary, n=len(data), events=int(e_all.sum()), how=how, excluded=excluded)
