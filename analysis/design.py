"""Design matrices for regression models: categorical covariates, reference levels, readable term labels.

One place for the coding every regression here uses (Cox, time-varying Cox, logistic): treatment coding
of a categorical covariate against a named reference level (default: the first level in sort order),
columns named as patsy names them (`site[T.B]`) so results read like R and statsmodels, and a readable
label per column ("site: B vs A"). `ratio_table` turns coefficients and SEs into the tidy term table
(hazard or odds ratios with Wald CIs) that each model's `summary` is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri  # norm.cdf and .ppf; scipy.stats takes seconds to import

from peer_outcomes.analysis.frames import AnalysisInputError

# The ratio columns of each kind of model: hazard ratios (Cox) and odds ratios (logistic).
RATIO_COLUMNS = {
    "hr": ("hr", "hr_lower_95", "hr_upper_95"),
    "odds_ratio": ("odds_ratio", "or_lower_95", "or_upper_95"),
}


@dataclass(frozen=True)
class Design:
    """A numeric design matrix with the term each column belongs to and a readable label per column."""

    x: pd.DataFrame
    labels: dict[str, str]
    terms: dict[str, list[int]]


def build_design(
    data: pd.DataFrame, covariates: list[str], categorical: dict[str, str] | None = None
) -> Design:
    """Treatment-code categorical covariates (named reference level) and pass numeric ones through.

    A text or category column not named in `categorical` is coded against its first level in sort order;
    booleans become 0/1. Column names follow patsy (`site[T.B]`) so results read like statsmodels/R.
    """
    categorical = dict(categorical or {})
    cols: dict[str, pd.Series] = {}
    labels: dict[str, str] = {}
    terms: dict[str, list[int]] = {}
    for cov in covariates:
        s = data[cov]
        is_cat = cov in categorical or s.dtype == object or isinstance(s.dtype, pd.CategoricalDtype)
        if not is_cat:
            if s.dtype == bool:
                s = s.astype(int)
            try:
                s = pd.to_numeric(s).astype(float)
            except (TypeError, ValueError) as exc:
                raise AnalysisInputError(f"The covariate {cov!r} must be numeric or declared categorical.") from exc
            terms[cov] = [len(cols)]
            cols[cov] = s
            labels[cov] = cov
            continue
        if isinstance(s.dtype, pd.CategoricalDtype) and not s.isna().any():  # its codes, no text per row
            codes, found = pd.factorize(s.cat.codes.to_numpy())
            found = s.cat.categories.astype(str)[found]
        else:
            codes, found = pd.factorize(s.astype(str))  # compare integer codes, not strings, once per level
        levels = sorted(found)
        ref = str(categorical.get(cov, levels[0]))
        if ref not in levels:
            raise AnalysisInputError(f"The reference level {ref!r} does not occur in {cov!r}.")
        code_of = {level: i for i, level in enumerate(found)}
        terms[cov] = []
        for level in levels:
            if level == ref:
                continue
            name = f"{cov}[T.{level}]"
            terms[cov].append(len(cols))
            cols[name] = pd.Series((codes == code_of[level]).astype(float), index=data.index)
            labels[name] = f"{cov}: {level} vs {ref}"
    x = pd.DataFrame(cols, index=data.index)
    constant = [c for c in x.columns if x[c].nunique() < 2]
    if constant:
        raise AnalysisInputError(f"The covariate column(s) {', '.join(constant)} do not vary in these data.")
    return Design(x, labels, terms)


def ratio_table(
    params: pd.Series, se: pd.Series, labels: dict[str, str], ratio: str = "hr", alpha: float = 0.05
) -> pd.DataFrame:
    """The tidy term table from coefficients and SEs: exp(β) with Wald CI exp(β ± z·SE) and p.

    `ratio` names the columns: "hr" (hr, hr_lower_95, hr_upper_95) or "odds_ratio" (odds_ratio,
    or_lower_95, or_upper_95). A term the data cannot estimate comes as NaN (R's NA) and has
    `estimable` False. A sparse level's bound may overflow to inf; it is kept here and masked by the
    published layer.
    """
    est, lower_col, upper_col = RATIO_COLUMNS[ratio]
    z = float(ndtri(1 - alpha / 2))
    coef, se = params.to_numpy(float), se.to_numpy(float)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        value, lower, upper = np.exp(coef), np.exp(coef - z * se), np.exp(coef + z * se)
        p = 2 * ndtr(-np.abs(coef / se))
    return pd.DataFrame(
        {
            "term": list(params.index),
            "label": [labels.get(t, t) for t in params.index],
            est: value,
            lower_col: lower,
            upper_col: upper,
            "p": p,
            "coef": coef,
            "se": se,
            "estimable": ~np.isnan(coef),
        },
        columns=["term", "label", est, lower_col, upper_col, "p", "coef", "se", "estimable"],
    )
