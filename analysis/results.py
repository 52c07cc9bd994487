"""The one result shape every model returns, as lifelines' fitters share one interface.

A `ModelResult` carries a tidy `summary` frame (one row per term, group or time, as fits the model), the
number of people fitted (`n`) and of events, the rows left out with the reason for each (never silently:
complete-case analysis as R's `na.omit`), one methods sentence ready for a methods paragraph, and
warnings about the fit (e.g. a term that cannot be estimated). The sentence is `how` (the method and
its R equivalent) followed by the counts, so the published layer can state the counts its own way
(without letting anyone compute a small number). Models with more to say (a Kaplan–Meier curve, a
proportional-hazards test) subclass it and add fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

MISSING = "with missing values"  # the reason complete-case analysis gives for a row left out


@dataclass(frozen=True, kw_only=True)
class ModelResult:
    """A fitted model: tidy `summary`, n fitted, events, rows excluded by reason, methods sentence, warnings."""

    summary: pd.DataFrame
    n: int
    events: int
    how: str  # the method and its R equivalent, without counts: "Cox proportional hazards, ..., as R coxph(...)"
    excluded: Mapping[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def method(self) -> str:
        """The methods sentence: how, then the people fitted and the rows excluded with reasons."""
        return f"{self.how}, fitted on {self.n:,} {'person' if self.n == 1 else 'people'}{excluded_note(self.excluded)}."

    @property
    def n_excluded(self) -> int:
        """Rows left out before fitting, over all reasons."""
        return int(sum(self.excluded.values()))


def excluded_rows(dropped: int, reason: str = MISSING) -> dict[str, int]:
    """The `excluded` mapping for `dropped` rows left out for one reason (empty when none were)."""
    return {reason: int(dropped)} if dropped else {}


def excluded_note(excluded: Mapping[str, int]) -> str:
    """The clause a methods sentence carries for rows left out, e.g. " (2 rows with missing values excluded)"."""
    parts = [f"{k} row{'s' if k != 1 else ''} {reason} excluded" for reason, k in excluded.items() if k]
    return f" ({'; '.join(parts)})" if parts else ""


# A methods sentence in a reader's words: the statistical conventions and software equivalents a model's `how`
# cites ("as R survfit(...)", "R's quantile.survfit convention", Efron ties, Greenwood variance) belong in the
# methods section for researchers (docs/methods.md), not in a caption a director reads. Each rewrite removes
# one clause the models write; tests/app/test_statistical_references.py scans every page and the PDF.
_R_CALL = r"[\w.]+\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)"  # survfit(Surv(time, factor(status))): 3 levels
PLAIN_REWRITES: tuple[tuple[str, str], ...] = (
    (rf",? as R {_R_CALL}", ""),
    (r"; medians by R's quantile\.survfit convention", ""),
    (r"with Greenwood variance and [\w-]+-transformed (\d+% confidence intervals)", r"with \1"),
    (r",? with delta-method standard errors and log\(-log\) (\d+% confidence intervals)", r", with \1"),
    (r",? by the Aalen–Johansen estimator \(exact with tied days\)", ""),
    (r"; Schoenfeld residual test", ""),
    (r",? Efron ties", ""),
    (r" on \(start, stop\] rows", " on weekly rows"),
)


def plain_methods(text: str) -> str:
    """`text` without the statistical references a director need not read (they stay in the methods text
    for researchers): "Cox proportional hazards, Efron ties, as R coxph(...)" -> "Cox proportional hazards"."""
    for pattern, repl in PLAIN_REWRITES:
        text = re.sub(pattern, repl, text)
    return text
