"""Milestone attainment (e.g. reached 90 days sober, among those observable): odds ratios by covariate.

Without `cluster`: logistic regression (statsmodels `Logit`, maximum likelihood), as R
`glm(family = binomial)`. With `cluster` (e.g. mentor): a GEE with exchangeable working correlation
and the robust (sandwich) SE, as R `geepack::geeglm(corstr = "exchangeable")`, because mentees of one
mentor are not independent. Wald CIs exp(β ± z·SE). Categorical covariates as in `analysis.cox`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.stats import norm

from peer_outcomes.analysis.cox import build_design
from peer_outcomes.analysis.frames import AnalysisInputError, complete_cases, dropped_note

COLUMNS = ["term", "label", "odds_ratio", "or_lower_95", "or_upper_95", "p", "coef", "se"]


@dataclass(frozen=True)
class MilestoneResult:
    """Odds ratios per term (`.summary`), people analysed, how many reached the milestone, methods sentence."""

    summary: pd.DataFrame
    n: int
    events: int
    method: str


def fit_milestone_model(
    df: pd.DataFrame,
    outcome: str,
    covariates: list[str],
    cluster: str | None = None,
    categorical: dict[str, str] | None = None,
) -> MilestoneResult:
    """Odds ratios of reaching a milestone: logistic regression, or GEE clustered by `cluster`."""
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
    z = float(norm.ppf(0.975))
    summary = pd.DataFrame(
        {
            "term": params.index,
            "label": [design.labels.get(t, t) for t in params.index],
            "odds_ratio": np.exp(params.to_numpy()),
            "or_lower_95": np.exp(params.to_numpy() - z * se.to_numpy()),
            "or_upper_95": np.exp(params.to_numpy() + z * se.to_numpy()),
            "p": 2 * norm.sf(np.abs(params.to_numpy() / se.to_numpy())),
            "coef": params.to_numpy(),
            "se": se.to_numpy(),
        },
        columns=COLUMNS,
    ).reset_index(drop=True)
    return MilestoneResult(summary, len(data), int(y.sum()), f"{how}{dropped_note(dropped)}.")
