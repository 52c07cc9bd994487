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
from peer_outcomes.analysis.frames import AnalysisInputError, complete_cases
from peer_outcomes.analysis.results import ModelResult, excluded_note, excluded_rows


def fit_milestone_model(
    df: pd.DataFrame,
    outcome: str,
    covariates: list[str],
    cluster: str | None = None,
    categorical: dict[str, str] | None = None,
) -> ModelResult:
    """Odds ratios of reaching a milestone: logistic regression, or GEE clustered by `cluster`.

    `.summary` has one row per term (odds_ratio, or_lower_95, or_upper_95, p, coef, se); `.events` counts
    those who reached the milestone.
    """
    data, dropped = complete_cases(df, [outcome, *covariates, *([cluster] if cluster else [])])
    y = pd.to_numeric(data[outcome].astype(int) if data[outcome].dtype == bool else data[outcome])
    if not np.isin(y.unique(), [0, 1]).all():
        raise AnalysisInputError(f"The outcome column {outcome!r} must hold only 0 and 1.")
    if y.nunique() < 2:
        raise AnalysisInputError(f"The outcome {outcome!r} does not vary, so odds ratios cannot be estimated.")
    design = build_design(data, covariates, categorical)
    x = sm.add_constant(design.x, has_constant="add").rename(columns={"const": "Intercept"})
    if cluster:
        model = sm.GEE(y, x, groups=pd.factorize(data[cluster])[0], family=sm.families.Binomial(),
                       cov_struct=sm.cov_struct.Exchangeable())
        fit = model.fit()
        how = (f"GEE logistic regression, exchangeable working correlation within {cluster}, robust SE, "
               "as R geepack::geeglm(family = binomial, corstr = 'exchangeable')")
    else:
        fit = sm.Logit(y, x).fit(disp=0)
        how = "Logistic regression (maximum likelihood), as R glm(family = binomial)"
    params, se = fit.params.drop("Intercept"), fit.bse.drop("Intercept")
    summary = ratio_table(params, se, design.labels, "odds_ratio")
    excluded = excluded_rows(dropped)
    return ModelResult(summary=summary, n=len(data), events=int(y.sum()), method=f"{how}{excluded_note(excluded)}.",
                       excluded=excluded)
