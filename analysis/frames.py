"""Checks on a caller's frame before a model sees it: named columns exist, times and events are valid.

Models are used on researchers' own frames, so a wrong column name or a negative time is a user mistake
that ends as one plain sentence (UserError), never a traceback deep inside lifelines. Rows with a missing
value in a used column are left out (complete-case analysis, as R's default `na.action = na.omit`); the
number left out is reported in the result's methods sentence, never silently.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from peer_outcomes.pipelines.errors import UserError


class AnalysisInputError(UserError):
    """The frame handed to a model cannot be analysed as asked; the message says why in one sentence."""


def require_columns(df: pd.DataFrame, columns: Sequence[str]) -> None:
    """Fail with one sentence naming the missing columns (names only, never values)."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise AnalysisInputError(f"The data has no column(s) {', '.join(map(repr, missing))}.")


def complete_cases(df: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """Keep the used columns of rows with no missing value among them; return (frame, rows left out)."""
    cols = list(dict.fromkeys(columns))
    require_columns(df, cols)
    sub = df[cols]
    keep = sub.notna().all(axis=1)
    return sub.loc[keep].reset_index(drop=True), int((~keep).sum())


def survival_frame(
    df: pd.DataFrame, duration: str, event: str, others: Sequence[str] = ()
) -> tuple[pd.DataFrame, int]:
    """Complete cases with a numeric, non-negative duration and a 0/1 (or boolean) event column."""
    out, dropped = complete_cases(df, [duration, event, *others])
    try:
        out[duration] = pd.to_numeric(out[duration]).astype(float)
    except (TypeError, ValueError) as exc:
        raise AnalysisInputError(f"The duration column {duration!r} must be numeric.") from exc
    if (out[duration] < 0).any():
        raise AnalysisInputError(f"The duration column {duration!r} has negative times.")
    ev = out[event]
    if ev.dtype == bool:
        ev = ev.astype(int)
    try:
        ev = pd.to_numeric(ev)
    except (TypeError, ValueError) as exc:
        raise AnalysisInputError(f"The event column {event!r} must be 0/1.") from exc
    if not np.isin(ev.unique(), [0, 1]).all():
        raise AnalysisInputError(f"The event column {event!r} must hold only 0 (censored) and 1 (event).")
    out[event] = ev.astype(int)
    if out.empty:
        raise AnalysisInputError("No rows are left to analyse after leaving out rows with missing values.")
    return out, dropped

