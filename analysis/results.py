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
