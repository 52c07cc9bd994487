"""Cox proportional hazards models: hazard ratios with CIs, categorical references, robust SEs, strata.

Conventions, as R `survival::coxph` defaults: Efron ties (as lifelines `CoxPHFitter`, not Breslow as
statsmodels and scikit-survival default to), fitted by Newton–Raphson from β = 0 with R's step halving
(`analysis.efron.newton`) until the step itself is below 1e-10, so β is R's optimum to rounding (lifelines
stops on the log-likelihood, ~1e-6 short, and costs seconds to import). With categorical covariates the
rows are first tabulated as event time × covariate pattern counts (`analysis.efron.RiskTable`: 100,000
people collapse to a few hundred patterns), so a Newton step costs milliseconds; rows with a continuous
covariate are summed row by row (`analysis.ph_check`). Wald CIs exp(β ± z·SE); with `cluster=` the robust sandwich
SE summed over clusters, as R `coxph(..., cluster = mentor)`, computed in `analysis.robust` from exact
Efron score residuals (lifelines' `cluster_col` differs from R under tied times); with `strata=` a
separate baseline hazard per stratum, as R `strata()`. Categorical covariates are coded by
`analysis.design` (treatment coding against a chosen reference; terms `site[T.B]`, labels
"site: B vs A"). The proportional-hazards check is `analysis.ph_check` (R cox.zph, transform "km").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from peer_outcomes.analysis.design import build_design, ratio_table
from peer_outcomes.analysis.efron import RiskTable, newton
from peer_outcomes.analysis.estimability import cox_not_estimable, not_estimable_warnings
from peer_outcomes.analysis.frames import AnalysisInputError, survival_frame
from peer_outcomes.analysis.ph_check import COLUMNS as PH_COLUMNS
from peer_outcomes.analysis.ph_check import (
    efron_loglik_score_information,
    ph_sentence,
    zph_test,
    zph_test_from_table,
)
from peer_outcomes.analysis.results import ModelResult, excluded_rows
from peer_outcomes.analysis.robust import cluster_robust_variance, too_few_clusters

FIT_OPTIONS = {"precision": 1e-10}  # lifelines' options, where benchmarks and tests run it beside this fit
NOT_CONVERGED = "The model did not converge: its estimates may be unreliable."


@dataclass(frozen=True, kw_only=True)
class CoxResult(ModelResult):
    """A fitted Cox model: tidy `.summary` (one row per term), `.ph_test` and its sentence `.ph_note`."""

    ph_test: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PH_COLUMNS))
    ph_note: str = ""
    log_likelihood: float = float("nan")


def _terms_of(names: list[str], design_columns: list[str], terms: dict[str, list[int]]) -> dict[str, list[int]]:
    """The design's terms re-indexed to the columns kept in the fit (terms with none kept are dropped)."""
    pos = {c: i for i, c in enumerate(names)}
    out = {t: [pos[design_columns[i]] for i in cols if design_columns[i] in pos] for t, cols in terms.items()}
    return {t: cols for t, cols in out.items() if cols}


def fit_cox(
    df: pd.DataFrame,
    duration: str,
    event: str,
    covariates: list[str],
    categorical: dict[str, str] | None = None,
    cluster: str | None = None,
    strata: list[str] | None = None,
    check_ph: bool = True,
    min_clusters: int | None = None,
    weights: str | None = None,
) -> CoxResult:
    """Hazard ratios from a Cox model with Efron ties, as R `coxph` (see the module docstring).

    A term the data cannot estimate (`analysis.estimability`) is reported with NaN estimates, as R's NA,
    and a warning. With `cluster`, the robust SE is used only with at least `min_clusters` clusters
    (default `config.min_clusters()`, 20); with fewer the model-based SE is reported and the methods
    sentence says so. `check_ph=False` skips the cox.zph test (about a third of the time at 100,000
    rows) when only the hazard ratios are wanted. `weights` names a column of counts, each row standing for
    that many people alike (people per time, event and covariate pattern, `queries.counts`): the fit equals
    that on the people's own rows.
    """
    if not covariates:
        raise AnalysisInputError("A Cox model needs at least one covariate.")
    if weights and cluster:
        raise AnalysisInputError("A Cox model on counted rows cannot cluster: give one row per person.")
    strata = list(strata or [])
    extra = [*covariates, *([cluster] if cluster else []), *strata]
    data, dropped = survival_frame(df, duration, event, [*extra, *([weights] if weights else [])])
    w = data[weights].to_numpy(float) if weights else None
    if weights:
        dropped = int(df[weights].sum() - w.sum())  # people left out, not rows
    if data[event].sum() == 0:
        raise AnalysisInputError("There are no events to model.")
    design = build_design(data, covariates, categorical)
    t, e = data[duration].to_numpy(float), data[event].to_numpy(int)
    strata_key = pd.Categorical(data[strata].astype(str).agg("|".join, axis=1)).codes if strata else None
    reasons, rows = cox_not_estimable(design.x, t, e, strata=strata_key, weights=w)
    columns = list(design.x.columns)
    names = [c for c in columns if c not in reasons] if e[rows].sum() else []
    notes = list(not_estimable_warnings(reasons, design.labels))
    params, se = pd.Series(np.nan, index=columns), pd.Series(np.nan, index=columns)
    ph, ph_note, loglik = pd.DataFrame(columns=PH_COLUMNS), "Proportional hazards were not checked.", float("nan")
    too_few = too_few_clusters(int(data.loc[rows, cluster].nunique()), cluster, min_clusters) if cluster else None
    robust = bool(cluster) and not too_few
    if names:
        # rows on the eventless side of a level with an infinite estimate carry no information (see
        # analysis.estimability): the other terms' estimates are those of the fit without them
        t, e, groups = t[rows], e[rows], data[cluster].astype(str).to_numpy()[rows] if cluster else None
        strata_key = None if strata_key is None else strata_key[rows]
        x = design.x.loc[rows, names].to_numpy(float)
        w = None if w is None else w[rows]
        table = RiskTable.of(t, e, x, strata_key, w)  # None with a continuous covariate: then row by row
        if table is None and w is not None:
            raise AnalysisInputError("A Cox model on counted rows needs categorical covariates.")
        try:
            fit = newton(table.evaluate if table else
                         lambda b: efron_loglik_score_information(t, e, x, b, strata_key), len(names))
        except np.linalg.LinAlgError as exc:
            raise AnalysisInputError(
                "The Cox model did not converge: a covariate may separate events perfectly or be collinear."
            ) from exc
        beta, variance, loglik = fit.beta, fit.variance, fit.log_likelihood
        if not fit.converged or not np.all(np.isfinite(beta)):
            notes.append(NOT_CONVERGED)
        if robust:
            variance = cluster_robust_variance(t, e, x, beta, variance, groups, strata_key)
        params[names], se[names] = beta, np.sqrt(np.diag(variance))
        if check_ph:
            terms = _terms_of(names, columns, design.terms)
            ph = zph_test_from_table(table, beta, terms, t, e, w) if table else zph_test(t, e, x, beta, terms, strata_key)
            ph_note = ph_sentence(ph)
    else:
        ph_note = "Proportional hazards were not checked: no term could be estimated."
    extras = []
    if robust:
        extras.append(f"robust SE clustered by {cluster}")
    elif cluster:
        extras.append(f"model-based SE, because {too_few}")
        notes.append(f"The standard errors are model-based: {too_few}.")
    if strata:
        extras.append(f"stratified by {', '.join(strata)}")
    how = ", ".join(["Efron ties", *extras])
    r_call = "coxph(Surv(time, event) ~ ...{}{})".format(
        f", cluster = {cluster}" if robust else "", " + strata(...)" if strata else ""
    )
    return CoxResult(
        summary=ratio_table(params, se, design.labels),
        n=len(data) if weights is None else int(data[weights].sum()),
        events=int(data[event].sum()) if weights is None else int(data[event].to_numpy(float) @ data[weights].to_numpy(float)),
        how=f"Cox proportional hazards, {how}, as R {r_call}",
        excluded=excluded_rows(dropped),
        warnings=tuple(notes),
        ph_test=ph,
        ph_note=ph_note,
        log_likelihood=loglik,
    )
