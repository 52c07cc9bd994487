"""Kaplan–Meier survival curves with CIs and medians (`fit_km`), matching R.

Conventions, all as R `survival::survfit(Surv(time, event) ~ group)` with its defaults:
- one row per distinct observed time (event or censoring), with the number at risk just before it;
- Greenwood variance of the cumulative hazard, and the "log" confidence interval
  (`conf.type = "log"`, R's default): exp(log S ± z·se), the upper limit capped at 1, and no interval
  once the curve reaches 0; `conf_type="log-log"` gives R's `conf.type = "log-log"` instead (no
  interval while the curve is at 1 or 0);
- the median (and its CI, read off the CI curves) as R's `quantile.survfit`: where the curve sits at
  exactly 0.5 (within sqrt(machine epsilon)) the median is the midpoint between that time and the next
  time the curve drops.
Every curve starts with a time-0 row (survival 1, everyone at risk) so it plots from the origin; events at
time 0 follow in their own row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtri  # norm.ppf itself; scipy.stats takes seconds to import

from peer_outcomes.analysis.frames import AnalysisInputError, survival_frame
from peer_outcomes.analysis.results import ModelResult, excluded_rows

CURVE_COLUMNS = ["group", "time", "n_at_risk", "n_events", "n_censored", "survival", "lower_95", "upper_95"]
TOL = float(np.sqrt(np.finfo(float).eps))  # R's quantile.survfit tolerance
CONF_TYPES = ("log", "log-log")


@dataclass(frozen=True, kw_only=True)
class KMResult(ModelResult):
    """A fitted Kaplan–Meier estimate: `.curve` (step rows) besides `.summary` (n, events, median per group)."""

    curve: pd.DataFrame

    def at(self, times: Iterable[float]) -> pd.DataFrame:
        """Survival with its CI at given times, per group, as R `summary(fit, times = ...)`.

        The value at t is the curve's last step at or before t; `n_at_risk` counts those still followed
        at t. Beyond a group's last observed time the estimate is undefined and shown as NaN.
        """
        ts = np.asarray(list(times), dtype=float)
        parts = []
        for group, g in self.curve.groupby("group", sort=False):  # a step table: times ascending, anchor first
            time = g["time"].to_numpy(float)
            last = time[1:].max() if len(g) > 1 else 0.0
            row = np.maximum(np.searchsorted(time, ts, side="right") - 1, 0)  # the last step at or before t
            later = np.maximum(np.searchsorted(time, ts, side="left"), 1)  # the first step (not the anchor) at or after t
            undefined = ts > last
            part = {"group": [group] * len(ts), "time": ts}
            for c in ("survival", "lower_95", "upper_95"):
                part[c] = np.where(undefined, np.nan, g[c].to_numpy(float)[row])
            n = np.r_[g["n_at_risk"].to_numpy(), 0]
            part["n_at_risk"] = n[np.minimum(later, len(g))].astype(int)
            parts.append(pd.DataFrame(part))
        if not parts:
            return pd.DataFrame(columns=["group", "time", "survival", "lower_95", "upper_95", "n_at_risk"])
        return pd.concat(parts, ignore_index=True)[["group", "time", "survival", "lower_95", "upper_95", "n_at_risk"]]


def _limits(log_s: np.ndarray, se: np.ndarray, z: float, conf_type: str) -> tuple[np.ndarray, np.ndarray]:
    """CI limits from log S and the Greenwood SE of the cumulative hazard, as R survfit_confint."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "log":
            dead = np.isneginf(log_s)
            return (np.where(dead, np.nan, np.exp(log_s - z * se)),
                    np.where(dead, np.nan, np.minimum(1.0, np.exp(log_s + z * se))))
        # log-log: undefined where S is 0 or 1
        ok = np.isfinite(log_s) & (log_s < 0)
        ll = np.log(-np.where(ok, log_s, -1.0))
        lower = np.exp(-np.exp(ll - z * se / np.where(ok, log_s, -1.0)))
        upper = np.exp(-np.exp(ll + z * se / np.where(ok, log_s, -1.0)))
        return np.where(ok, lower, np.nan), np.where(ok, upper, np.nan)


def _check_conf_type(conf_type: str) -> None:
    if conf_type not in CONF_TYPES:
        raise AnalysisInputError(f"conf_type must be one of {', '.join(CONF_TYPES)}.")


def _curve_one(t: np.ndarray, e: np.ndarray, z: float, conf_type: str = "log", w: np.ndarray | None = None) -> pd.DataFrame:
    """The KM step table for one group (time-0 anchor first); `w`: how many people each row stands for."""
    w = np.ones(len(t)) if w is None else w
    times, inv = np.unique(t, return_inverse=True)
    d = np.bincount(inv, weights=e * w).astype(float)
    total = np.bincount(inv, weights=w).astype(float)
    n = total[::-1].cumsum()[::-1]
    surv = np.cumprod(1.0 - d / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(d > 0, d / (n * (n - d)), 0.0)  # inf where everyone left at risk has the event
    se = np.sqrt(np.cumsum(term))
    with np.errstate(divide="ignore"):
        lower, upper = _limits(np.log(surv), se, z, conf_type)
    body = pd.DataFrame(
        {
            "time": times.astype(float),
            "n_at_risk": n.astype(int),
            "n_events": d.astype(int),
            "n_censored": (total - d).astype(int),
            "survival": surv,
            "lower_95": lower,
            "upper_95": upper,
        }
    )
    anchor = pd.DataFrame(
        {"time": [0.0], "n_at_risk": [int(w.sum())], "n_events": [0], "n_censored": [0], "survival": [1.0],
         "lower_95": [1.0], "upper_95": [1.0]}
    )
    return pd.concat([anchor, body], ignore_index=True)


def quantile_time(times: np.ndarray, surv: np.ndarray, p: float = 0.5, tol: float = TOL) -> float:
    """The time the curve first reaches 1 - p, as R `survival:::findq` (midpoint rule on a flat 0.5).

    `times`/`surv` are the step rows without the time-0 anchor; NaN values (a CI curve past 0) are
    ignored as R's `approx` does.
    """
    x = np.r_[0.0, np.asarray(times, float)]
    y = np.r_[0.0, 1.0 - np.asarray(surv, float)]
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return float("nan")
    xmax = x[-1]
    keep, seen, seen_nan = [], set(), False  # R duplicated(): first occurrence of each value (NaN once)
    for i, v in enumerate(y):
        if np.isnan(v):
            if not seen_nan:
                keep.append(i)
            seen_nan = True
        elif v not in seen:
            seen.add(v)
            keep.append(i)
    x, y = x[keep], y[keep]
    ok = ~np.isnan(y)

    def first_at_least(shift: float) -> int | None:
        knots = np.flatnonzero(ok)
        vals = y[knots] + shift
        if p > vals.max() or p < vals.min():
            return None
        return int(knots[np.argmax(vals >= p)])

    i1, i2 = first_at_least(tol), first_at_least(-tol)
    if not np.isnan(y[-1]) and abs(p - y[-1]) < tol and i1 is not None:
        return float((x[i1] + xmax) / 2)
    if i1 is None or i2 is None:
        return float("nan")
    return float((x[i1] + x[i2]) / 2)


def fit_km(
    df: pd.DataFrame,
    duration: str,
    event: str,
    group: str | None = None,
    alpha: float = 0.05,
    conf_type: str = "log",
    weights: str | None = None,
) -> KMResult:
    """Kaplan–Meier curve(s) with CIs and medians, as R `survfit` (see module docstring).

    `conf_type="log-log"` gives R's `conf.type = "log-log"` (lifelines' and Stata's default) instead.
    `weights` names a column of counts: each row stands for that many people alike (R's case weights), so a
    table of people per time and event gives the curve of the people themselves.
    """
    _check_conf_type(conf_type)
    data, dropped = survival_frame(df, duration, event, [group] if group else [])
    w_all = np.ones(len(data))
    if weights is not None:
        kept = df[[duration, event, *([group] if group else [])]].notna().all(axis=1).to_numpy()
        w_all = df[weights].to_numpy(float)[kept]
        dropped = int(df[weights].sum() - w_all.sum())  # people left out, not rows
    excluded = excluded_rows(dropped)
    z = float(ndtri(1 - alpha / 2))
    labels = data[group].astype(str) if group else pd.Series("All", index=data.index)
    curves, summaries = [], []
    for label, rows in sorted(labels.groupby(labels, sort=False).indices.items()):  # one pass, not one per group
        part = data.iloc[rows]
        w = w_all[rows]
        c = _curve_one(part[duration].to_numpy(float), part[event].to_numpy(float), z, conf_type, w)
        c.insert(0, "group", label)
        curves.append(c)
        steps = c.iloc[1:]
        summaries.append(
            {
                "group": label,
                "n": int(w.sum()),
                "events": int(part[event].to_numpy(float) @ w),
                "median": quantile_time(steps["time"], steps["survival"]),
                "median_lower_95": quantile_time(steps["time"], steps["lower_95"]),
                "median_upper_95": quantile_time(steps["time"], steps["upper_95"]),
            }
        )
    curve = pd.concat(curves, ignore_index=True)[CURVE_COLUMNS]
    by = f" by {group}" if group else ""
    how = (
        f"Kaplan–Meier estimates{by} with Greenwood variance and {conf_type}-transformed "
        f"{100 * (1 - alpha):.0f}% confidence intervals; medians by R's quantile.survfit convention, "
        f"as R survfit(conf.type='{conf_type}')"
    )
    return KMResult(curve=curve, summary=pd.DataFrame(summaries), n=int(w_all.sum()),
                    events=int(data[event].to_numpy(float) @ w_all), how=how, excluded=excluded)

