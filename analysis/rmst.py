"""Restricted mean survival time up to τ (area under the Kaplan–Meier curve) with the SE of the estimate.

The SE is the Greenwood-type one of R `print(survfit(...), rmean = tau)` and survRM2:
Var = Σ_{t_i ≤ τ} A_i² · d_i / (n_i (n_i − d_i)), where A_i is the area under the curve from t_i to τ.
It is the variance of the *estimator*; lifelines' `restricted_mean_survival_time(return_variance=True)`
returns the variance of min(T, τ) instead, which is not a standard error. CI: RMST ± z·SE.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtri  # norm.ppf itself; scipy.stats takes seconds to import

from peer_outcomes.analysis.frames import AnalysisInputError, survival_frame
from peer_outcomes.analysis.results import ModelResult, excluded_rows

COLUMNS = ["group", "tau", "rmst", "se", "lower_95", "upper_95"]


def _rmst_one(t: np.ndarray, e: np.ndarray, tau: float) -> tuple[float, float]:
    """RMST and its SE for one group, transcribing R survival:::survmean."""
    times, inv = np.unique(t, return_inverse=True)
    d = np.bincount(inv, weights=e).astype(float)
    n = np.bincount(inv).astype(float)[::-1].cumsum()[::-1]
    surv = np.cumprod(1.0 - d / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(n - d == 0, 0.0, d / (n * (n - d)))
    keep = times <= tau
    temptime = np.r_[times[keep], tau]
    tempsurv = np.r_[surv[keep], surv[keep][-1] if keep.any() else 1.0]
    hh = np.r_[hh[keep], 0.0]
    delta = np.diff(np.r_[0.0, temptime])
    rect = delta * np.r_[1.0, tempsurv[:-1]]
    area_after = np.cumsum(rect[1:][::-1])  # area from each time point to tau, last point first
    var = float(np.sum(area_after**2 * hh[::-1][1:]))
    return float(rect.sum()), float(np.sqrt(var))


def rmst(df: pd.DataFrame, duration: str, event: str, tau: float, group: str | None = None) -> ModelResult:
    """Restricted mean survival time to `tau` per group, with SE and 95% CI (module docstring).

    `.summary` has one row per group: group, tau, rmst, se, lower_95, upper_95.
    """
    if tau <= 0:
        raise AnalysisInputError("The RMST horizon tau must be a positive number of days.")
    data, dropped = survival_frame(df, duration, event, [group] if group else [])
    labels = data[group].astype(str) if group else pd.Series("All", index=data.index)
    z = float(ndtri(0.975))
    rows = []
    for label in sorted(labels.unique()):
        part = data[labels == label]
        est, se = _rmst_one(part[duration].to_numpy(float), part[event].to_numpy(float), float(tau))
        rows.append([label, float(tau), est, se, est - z * se, est + z * se])
    excluded = excluded_rows(dropped)
    how = (
        f"Restricted mean survival time to {tau:g} days (area under the Kaplan–Meier curve) with the "
        f"Greenwood-type standard error, as R print(survfit(...), rmean = {tau:g})"
    )
    return ModelResult(summary=pd.DataFrame(rows, columns=COLUMNS), n=len(data), events=int(data[event].sum()),
                       how=how, excluded=excluded)
