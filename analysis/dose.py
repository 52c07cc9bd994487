"""Engagement dose as a time-varying covariate: a Cox model on counting-process (start, stop] rows.

Efron ties, as R `coxph(Surv(start, stop, event) ~ ..., ties = "efron")`, fitted by
`analysis.efron.fit_counting_process` (risk-set sums by bincount over event times, O(n) per Newton step:
about a second for 1.4 million weekly rows, where lifelines' `CoxTimeVaryingFitter` took 43 s). A subject
is at risk in (start, stop]: not at its own start time (statsmodels `PHReg(entry=)` counts it at entry
and so disagrees on such data). Dose columns come from
`marts.dose_weekly` (sessions attended per participant-week, by format); use the previous week's dose
to avoid counting the event week's sessions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peer_outcomes.analysis.cox import NOT_CONVERGED, CoxResult
from peer_outcomes.analysis.design import build_design, ratio_table
from peer_outcomes.analysis.efron import fit_counting_process
from peer_outcomes.analysis.estimability import cox_not_estimable, not_estimable_warnings
from peer_outcomes.analysis.frames import AnalysisInputError, complete_cases
from peer_outcomes.analysis.results import excluded_rows


def fit_time_varying_cox(
    long_df: pd.DataFrame,
    id_col: str | None,
    start: str,
    stop: str,
    event: str,
    covariates: list[str],
    categorical: dict[str, str] | None = None,
    weights: str | None = None,
    n_people: int | None = None,
) -> CoxResult:
    """Hazard ratios for time-varying covariates (e.g. weekly sessions attended), as R coxph(Surv(start, stop, event)).

    A term the data cannot estimate (e.g. a dose that is the same for everyone at risk at every event time)
    is reported with NaN estimates, as R's NA, and a warning (`analysis.estimability`).

    Rows counted per cell (aggregates.week_counts) name their count column as `weights` and, having no id
    column (`id_col` None), the people they describe as `n_people`: the fit equals that of the rows repeated.
    """
    ids = [id_col] if id_col else []
    data, dropped = complete_cases(long_df, [*ids, start, stop, event, *covariates, *([weights] if weights else [])])
    if (data[stop].to_numpy() <= data[start].to_numpy()).any():
        raise AnalysisInputError(f"Every row must end after it starts ({stop!r} > {start!r}).")
    design = build_design(data, covariates, categorical)
    columns = list(design.x.columns)
    t0, t1, e = (data[c].to_numpy(float) for c in (start, stop, event))  # numpy once: no pandas copies
    e_all = e
    wt = data[weights].to_numpy(float) if weights else None
    reasons, rows = cox_not_estimable(design.x, t1, e, start=t0, weights=wt)
    names = [c for c in columns if c not in reasons] if e[rows].sum() else []
    notes = list(not_estimable_warnings(reasons, design.labels))
    params, se = pd.Series(np.nan, index=columns), pd.Series(np.nan, index=columns)
    loglik = float("nan")
    if names:
        # rows on the eventless side of a level with an infinite estimate carry no information
        x = design.x[names].to_numpy(float)
        if not rows.all():
            t0, t1, e, x = t0[rows], t1[rows], e[rows], x[rows]
            wt = None if wt is None else wt[rows]
        try:
            fit = fit_counting_process(t0, t1, e, x, wt)
        except np.linalg.LinAlgError as exc:
            raise AnalysisInputError(
                "The time-varying Cox model did not converge: check for collinear covariates."
            ) from exc
        if not fit.converged:
            notes.append(NOT_CONVERGED)
        params[names], se[names] = fit.beta, np.sqrt(np.diag(fit.variance))
        loglik = fit.log_likelihood
    return CoxResult(
        summary=ratio_table(params, se, design.labels),
        n=int(data[id_col].nunique()) if id_col else int(n_people or 0),
        events=int(e_all @ (np.ones(len(data)) if weights is None else data[weights].to_numpy(float))),
        how="Cox proportional hazards with time-varying covariates on (start, stop] rows, Efron ties, "
        "as R coxph(Surv(start, stop, event) ~ ...)",
        excluded=excluded_rows(dropped),
        warnings=tuple(notes),
        ph_note="Proportional hazards were not tested for the time-varying model.",
        log_likelihood=loglik,
    )
