"""Cumulative incidence with competing risks (Aalen–Johansen), exact with tied times.

CIF_k(t) = Σ_{t_j ≤ t} S(t_j−) · d_kj / n_j, with S the all-cause Kaplan–Meier curve: the estimate of
R `survfit(Surv(time, factor(status)) ~ 1)` (multi-state) and statsmodels `CumIncidenceRight`. Tied
times are kept as ties (lifelines' AalenJohansenFitter jitters them at random, so it is not used).
Standard error: the delta-method variance of statsmodels `CumIncidenceRight` (Marubini & Valsecchi 1995);
95% CI on the log(−log) scale so it stays inside (0, 1). R's multi-state survfit reports an
infinitesimal-jackknife SE instead; estimates agree exactly, SEs differ slightly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtri  # norm.ppf itself; scipy.stats takes seconds to import

from peer_outcomes.analysis.frames import AnalysisInputError, complete_cases
from peer_outcomes.analysis.results import ModelResult, excluded_rows

COLUMNS = ["group", "cause", "time", "cif", "lower_95", "upper_95"]


def cif_one(
    time: np.ndarray, code: np.ndarray, cause: int, weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distinct times, CIF, SE) for one cause in one group; SE as statsmodels CumIncidenceRight.
    `weight`: how many people each row stands for (one each when None)."""
    w = np.ones(len(time)) if weight is None else np.asarray(weight, float)
    times, inv = np.unique(time, return_inverse=True)
    n = np.bincount(inv, weights=w).astype(float)[::-1].cumsum()[::-1]
    d_all = np.bincount(inv, weights=(code >= 1) * w, minlength=len(times))
    d_k = np.bincount(inv, weights=(code == cause) * w, minlength=len(times))
    surv = np.cumprod(1.0 - d_all / n)
    s_before = np.r_[1.0, surv[:-1]] / n
    cif = np.cumsum(s_before * d_k)
    with np.errstate(divide="ignore", invalid="ignore"):
        ra = d_all / (n * (n - d_all))
        v = cif**2 * np.cumsum(ra) - 2 * cif * np.cumsum(cif * ra) + np.cumsum(cif**2 * ra)
        v += np.cumsum(s_before**2 * (n - d_k) * d_k / n)
        ra = s_before * d_k / n
        v += -2 * cif * np.cumsum(ra) + 2 * np.cumsum(cif * ra)
    return times, cif, np.sqrt(v)


def _loglog_ci(cif: np.ndarray, se: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.log(-np.log(cif))
        se_g = se / (cif * np.abs(np.log(cif)))
        lower = np.exp(-np.exp(g + z * se_g))
        upper = np.exp(-np.exp(g - z * se_g))
    zero = cif <= 0
    return np.where(zero, 0.0, lower), np.where(zero, 0.0, upper)


def cumulative_incidence(
    df: pd.DataFrame,
    duration: str,
    event_code: str,
    causes: dict[int, str],
    group: str | None = None,
    weights: str | None = None,
) -> ModelResult:
    """Aalen–Johansen cumulative incidence per cause (and group).

    `event_code` holds 0 for censored and a cause code from `causes` (e.g. {1: "relapse", 2: "dropout",
    3: "completion"}) for the first event. `.summary` has one row per group, cause and distinct time,
    plus time 0 (group, cause, time, cif, lower_95, upper_95); `.events` counts first events of any cause.
    `weights` names a column of counts: each row stands for that many people alike.
    """
    used = [duration, event_code, *([group] if group else [])]
    data, dropped = complete_cases(df, [*used, *([weights] if weights else [])])
    w = data[weights].to_numpy(float) if weights else np.ones(len(data))
    if weights:
        dropped = int(df[weights].sum() - w.sum())  # people left out, not rows
    codes = pd.to_numeric(data[event_code]).astype(int).to_numpy()
    unknown = sorted(int(c) for c in set(np.unique(codes)) - {0, *causes})
    if unknown:
        raise AnalysisInputError(f"The event code column {event_code!r} has codes not named in causes: {unknown}.")
    t = pd.to_numeric(data[duration]).astype(float).to_numpy()
    if (t < 0).any():
        raise AnalysisInputError(f"The duration column {duration!r} has negative times.")
    labels = data[group].astype(str).to_numpy() if group else np.full(len(data), "All")
    z = float(ndtri(0.975))
    parts = []
    for label in sorted(set(labels)):
        m = labels == label
        for code, name in causes.items():
            times, cif, se = cif_one(t[m], codes[m], code, w[m])
            lower, upper = _loglog_ci(cif, se, z)
            parts.append(pd.DataFrame({"group": label, "cause": name, "time": np.r_[0.0, times],
                                       "cif": np.r_[0.0, cif], "lower_95": np.r_[0.0, lower],
                                       "upper_95": np.r_[0.0, upper]}))
    out = pd.concat(parts, ignore_index=True)[COLUMNS]
    excluded = excluded_rows(dropped)
    names = list(causes.values())
    listed = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    how = (
        f"Cumulative incidence of {listed}, each competing with the others, by the Aalen–Johansen "
        "estimator (exact with tied days), as R survfit(Surv(time, factor(status))), with delta-method "
        "standard errors and log(-log) 95% confidence intervals"
    )
    return ModelResult(summary=out, n=int(w.sum()), events=int((codes >= 1) @ w), how=how, excluded=excluded)
