"""Engagement dose as a time-varying covariate: a Cox model on counting-process (start, stop] rows.

Efron ties, as R `coxph(Surv(start, stop, event) ~ ..., ties = "efron")`, fitted with lifelines
`CoxTimeVaryingFitter`. A subject is at risk in (start, stop]: not at its own start time (statsmodels
`PHReg(entry=)` counts it at entry and so disagrees on such data). Dose columns come from
`marts.dose_weekly` (sessions attended per participant-week, by format); use the previous week's dose
to avoid counting the event week's sessions.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from lifelines import CoxTimeVaryingFitter
from lifelines.exceptions import ConvergenceError, ConvergenceWarning

from peer_outcomes.analysis.cox import FIT_OPTIONS, NOT_CONVERGED, CoxResult
from peer_outcomes.analysis.design import build_design, ratio_table
from peer_outcomes.analysis.estimability import cox_not_estimable, not_estimable_warnings
from peer_outcomes.analysis.frames import AnalysisInputError, complete_cases
from peer_outcomes.analysis.results import excluded_rows


def fit_time_varying_cox(
    long_df: pd.DataFrame,
    id_col: str,
    start: str,
    stop: str,
    event: str,
    covariates: list[str],
    categorical: dict[str, str] | None = None,
) -> CoxResult:
    """Hazard ratios for time-varying covariates (e.g. weekly sessions attended), as R coxph(Surv(start, stop, event)).

    A term the data cannot estimate (e.g. a dose that is the same for everyone at risk at every event time)
    is reported with NaN estimates, as R's NA, and a warning (`analysis.estimability`).
    """
    data, dropped = complete_cases(long_df, [id_col, start, stop, event, *covariates])
    if (data[stop] <= data[start]).any():
        raise AnalysisInputError(f"Every row must end after it starts ({stop!r} > {start!r}).")
    design = build_design(data, covariates, categorical)
    columns = list(design.x.columns)
    reasons, rows = cox_not_estimable(design.x, data[stop].to_numpy(float), data[event].to_numpy(float),
                                      start=data[start].to_numpy(float))
    names = [c for c in columns if c not in reasons] if data.loc[rows, event].sum() else []
    notes = list(not_estimable_warnings(reasons, design.labels))
    params, se = pd.Series(np.nan, index=columns), pd.Series(np.nan, index=columns)
    loglik = float("nan")
    if names:
        # rows on the eventless side of a level with an infinite estimate carry no information
        frame = design.x.loc[rows, names].copy()
        frame["__id"] = data.loc[rows, id_col].to_numpy()
        frame["__start"] = data.loc[rows, start].astype(float).to_numpy()
        frame["__stop"] = data.loc[rows, stop].astype(float).to_numpy()
        frame["__event"] = data.loc[rows, event].astype(int).to_numpy()
        ctv = CoxTimeVaryingFitter()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                ctv.fit(frame, id_col="__id", event_col="__event", start_col="__start", stop_col="__stop",
                        fit_options=FIT_OPTIONS)
        except ConvergenceError as exc:
            raise AnalysisInputError(
                "The time-varying Cox model did not converge: check for collinear covariates."
            ) from exc
        if any(issubclass(w.category, ConvergenceWarning) for w in caught):
            notes.append(NOT_CONVERGED)
        params[names], se[names] = ctv.params_[names], ctv.standard_errors_[names]
        loglik = float(ctv.log_likelihood_)
    return CoxResult(
        summary=ratio_table(params, se, design.labels),
        n=int(data[id_col].nunique()),
        events=int(data[event].sum()),
        how="Cox proportional hazards with time-varying covariates on (start, stop] rows, Efron ties, "
        "as R coxph(Surv(start, stop, event) ~ ...)",
        excluded=excluded_rows(dropped),
        warnings=tuple(notes),
        ph_note="Proportional hazards were not tested for the time-varying model.",
        log_likelihood=loglik,
    )
