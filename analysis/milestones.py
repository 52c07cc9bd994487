"""Milestone attainment (e.g. reached 90 days sober, among those observable): odds ratios by covariate.

Without `cluster`: logistic regression (statsmodels `Logit`, maximum likelihood), as R
`glm(family = binomial)`. With `cluster` (e.g. mentor): a GEE with exchangeable working correlation
and the robust (sandwich) SE, as R `geepack::geeglm(corstr = "exchangeable")`, because mentees of one
mentor are not independent. Wald CIs exp(β ± z·SE). Categorical covariates coded by `analysis.design`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm

from peer_outcomes.analysis.design import build_design, ratio_table
from peer_outcomes.analysis.estimability import logit_not_estimable, not_estimable_warnings
from peer_outcomes.analysis.frames import AnalysisInputError, complete_cases
from peer_outcomes.analysis.results import ModelResult, excluded_rows
from peer_outcomes.analysis.robust import too_few_clusters


def fit_milestone_model(
    df: pd.DataFrame,
    outcome: str,
    covariates: list[str],
    cluster: str | None = None,
    categorical: dict[str, str] | None = None,
    min_clusters: int | None = None,
) -> ModelResult:
    """Odds ratios of reaching a milestone: logistic regression, or GEE clustered by `cluster`.

    `.summary` has one row per term (odds_ratio, or_lower_95, or_upper_95, p, coef, se, estimable);
    `.events` counts those who reached the milestone. A term the data cannot estimate (collinear, or a
    level in which everyone or no one reached it) is reported with NaN estimates, as R's NA, and a
    warning. With `cluster`, the robust SE needs at least `min_clusters` clusters (default
    `config.min_clusters()`, 20); with fewer the model-based SE is reported and the method says so.
    """
    data, dropped = complete_cases(df, [outcome, *covariates, *([cluster] if cluster else [])])
    y = pd.to_numeric(data[outcome].astype(int) if data[outcome].dtype == bool else data[outcome])
    if not np.isin(y.unique(), [0, 1]).all():
        raise AnalysisInputError(f"The outcome column {outcome!r} must hold only 0 and 1.")
    if y.nunique() < 2:
        raise AnalysisInputError(f"The outcome {outcome!r} does not vary, so odds ratios cannot be estimated.")
    design = build_design(data, covariates, categorical)
    n_events = int(y.sum())
    columns = list(design.x.columns)
    reasons, rows = logit_not_estimable(design.x, y.to_numpy())
    names = [c for c in columns if c not in reasons]
    notes = list(not_estimable_warnings(reasons, design.labels))
    params, se = pd.Series(np.nan, index=columns), pd.Series(np.nan, index=columns)
    # rows of a separated level are predicted perfectly in the limit: the other estimates are those without them
    x = sm.add_constant(design.x.loc[rows, names], has_constant="add").rename(columns={"const": "Intercept"})
    y, data = y[rows], data[rows]
    if cluster:
        model = sm.GEE(y, x, groups=pd.factorize(data[cluster])[0], family=sm.families.Binomial(),
                       cov_struct=sm.cov_struct.Exchangeable())
        too_few = too_few_clusters(int(data[cluster].nunique()), cluster, min_clusters)
        fit = model.fit(cov_type="naive" if too_few else "robust")
        how = f"GEE logistic regression, exchangeable working correlation within {cluster}, "
        if not too_few:
            how += "robust SE, as R geepack::geeglm(family = binomial, corstr = 'exchangeable')"
        else:
            how += f"model-based SE, because {too_few}, as R geepack::geeglm(..., std.err = 'naive')"
            notes.append(f"The standard errors are model-based: {too_few}.")
    else:
        fit = sm.Logit(y, x).fit(disp=0)
        how = "Logistic regression (maximum likelihood), as R glm(family = binomial)"
    params[names], se[names] = fit.params[names], fit.bse[names]
    return ModelResult(summary=ratio_table(params, se, design.labels, "odds_ratio"), n=len(rows), events=n_events,
                       how=how, excluded=excluded_rows(dropped), warnings=tuple(notes))
