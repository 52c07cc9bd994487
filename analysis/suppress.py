"""Small-cell disclosure control: the one place published numbers are suppressed (docs/privacy.md).

Policy (threshold k = `pipelines.config.min_cell()`, 11 by default, never lower):
- a count of 1..k-1 people is suppressed (shown as "< 11"); 0 may be shown;
- a rate or share is suppressed when its numerator, denominator or complement (denominator - numerator)
  is 1..k-1, since any of the three gives the small count away;
- complementary suppression: within every set of cells that add up to a shown total (a row, a column), a
  lone suppressed cell is joined by the next-smallest cell, repeated until no set has exactly one;
- survival curves stop where fewer than k remain at risk; numbers at risk are rounded to 5 and the
  per-time event and censoring counts are not published (they pin down exact event times);
- groups of fewer than k people are removed from curves and models, with a note saying so;
- site x track combinations of fewer than k people are in no published population at all, and the
  enrollment period moves in runs of months holding 0 or >= k of each (analysis.queries.SMALL_CELLS,
  analysis.population), so no difference between two filter choices describes fewer than k.
Suppressed numbers become NaN in published frames (charts leave gaps); `label` turns them into "< 11"
for tables and CSV downloads. Modelled on ehrql's measures/disclosure_control.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from peer_outcomes.pipelines.config import min_cell

ROUND_AT_RISK = 5


def mask_text() -> str:
    """What a suppressed cell shows: "< 11" with the default threshold."""
    return f"< {min_cell()}"


def is_small(values: pd.Series | np.ndarray | float) -> pd.Series | np.ndarray | bool:
    """True where a count describes 1..k-1 people (0 and missing are not small)."""
    k = min_cell()
    v = pd.to_numeric(values, errors="coerce") if isinstance(values, pd.Series) else np.asarray(values)
    return (v >= 1) & (v < k)


def suppress_counts(
    df: pd.DataFrame, column: str, margins: Sequence[Sequence[str]] = ((),)
) -> pd.DataFrame:
    """Suppress small counts in `column`, then complementary cells so none can be recovered.

    `margins` lists the groupings whose cells add up to a published total: `[[]]` (the default) means
    all rows add up to one total; `[["site"], ["month"]]` protects both the rows and the columns of a
    site x month table. Returns a copy with suppressed values set to NaN (float column).
    """
    out = df.copy()
    values = pd.to_numeric(out[column], errors="coerce").astype(float)
    hidden = pd.Series(is_small(values), index=out.index).fillna(False).astype(bool)
    changed = True
    while changed:  # secondary suppression can create a new lone cell in another margin: iterate
        changed = False
        for keys in margins:
            groups = [out.index] if not keys else out.groupby(list(keys), dropna=False, observed=True).groups.values()
            for idx in groups:
                if len(idx) < 2 or int(hidden.loc[idx].sum()) != 1:
                    continue
                candidates = values.loc[idx][~hidden.loc[idx]]
                if candidates.empty:
                    continue
                nonzero = candidates[candidates > 0]  # prefer hiding a real count over a shown zero
                pick = (nonzero if not nonzero.empty else candidates).idxmin()
                hidden.loc[pick] = True
                changed = True
    out[column] = values.mask(hidden)
    return out


def suppress_rate(
    df: pd.DataFrame, numerator: str, denominator: str, rate: str, count_margins: Sequence[Sequence[str]] = ((),)
) -> pd.DataFrame:
    """Add `rate` = numerator / denominator, suppressed when numerator, denominator or the rest is small.

    The counts themselves are suppressed too (complementary within `count_margins`), so the published
    frame never carries a small numerator next to a hidden rate.
    """
    out = df.copy()
    num = pd.to_numeric(out[numerator], errors="coerce").astype(float)
    den = pd.to_numeric(out[denominator], errors="coerce").astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(den > 0, num / den, np.nan)
    risky = is_small(num) | is_small(den) | is_small(den - num)
    out[rate] = pd.Series(r, index=out.index).mask(pd.Series(risky, index=out.index))
    out = suppress_counts(out, numerator, count_margins)
    out = suppress_counts(out, denominator, count_margins)
    out.loc[out[numerator].isna() | out[denominator].isna(), rate] = np.nan
    return out


def small_groups(df: pd.DataFrame, group: str) -> list[str]:
    """Levels of `group` with fewer than k people (rows): to be removed before a curve or model."""
    counts = df[group].astype("string").fillna("missing").value_counts()
    return sorted(str(g) for g in counts[counts < min_cell()].index)


def drop_small_groups(df: pd.DataFrame, groups: Iterable[str]) -> tuple[pd.DataFrame, list[str]]:
    """Remove people in any level, of any of `groups`, with fewer than k people; return a note per removal."""
    out, notes = df, []
    for g in groups:
        small = small_groups(out, g)
        if small:
            keep = ~out[g].astype("string").fillna("missing").isin(small)
            notes.append(
                f"{len(small)} {g.replace('_', ' ')} group(s) with fewer than {min_cell()} people "
                "were left out to protect privacy."
            )
            out = out[keep]
    return out, notes


def counts_by_group(df: pd.DataFrame, group: str | None, event: str) -> pd.DataFrame:
    """People (`n`) and events per group, suppressed across every group, small ones included.

    Small groups are then left out of published tables, but their hidden cells have already forced a
    complementary cell, so subtracting the shown groups from the overall total cannot recover them.
    """
    g = df[group].astype("string").fillna("unknown") if group else pd.Series("All", index=df.index)
    counts = df.assign(group=g, _e=pd.to_numeric(df[event], errors="coerce")).groupby("group").agg(
        n=("_e", "size"), events=("_e", "sum")
    )
    counts = suppress_counts(counts.reset_index(), "n")
    return suppress_counts(counts, "events")


def methods_text(text: str) -> str:
    """A methods sentence with any small row count in it (e.g. "3 rows with missing values") masked."""
    return re.sub(
        r"\b(\d+)( rows?\b)", lambda m: (mask_text() if is_small(int(m.group(1))) else m.group(1)) + m.group(2), text
    )


def truncate_curve(curve: pd.DataFrame) -> pd.DataFrame:
    """Publishable survival/incidence curve: stop each group before fewer than k remain at risk.

    Keeps group, time, estimate and CI columns; rounds `n_at_risk` to the nearest 5; drops the per-time
    event and censoring counts (exact event times of few people).
    """
    k = min_cell()
    out = curve[curve["n_at_risk"] >= k].drop(columns=["n_events", "n_censored"], errors="ignore").copy()
    out["n_at_risk"] = round_at_risk(out["n_at_risk"]).astype(int)
    return out.reset_index(drop=True)


def round_at_risk(n: pd.Series) -> pd.Series:
    """Numbers at risk for a table: rounded to 5, NaN where fewer than k remain.

    Never shown below the first multiple of 5 at or above k (15 for k = 11): 11 or 12 at risk rounded to
    "10" would read as a published count under 11.
    """
    v = pd.to_numeric(n, errors="coerce").astype(float)
    floor = -(-min_cell() // ROUND_AT_RISK) * ROUND_AT_RISK
    return ((v / ROUND_AT_RISK).round() * ROUND_AT_RISK).clip(lower=floor).mask(v < min_cell())


def label(df: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """A display/CSV copy: NaN in the given (suppressed count or rate) columns shown as "< 11"."""
    out = df.copy()
    for c in columns:
        if c in out:
            shown = out[c]
            if pd.api.types.is_float_dtype(shown) and (shown.dropna() % 1 == 0).all():
                shown = shown.astype("Int64")  # a count hidden as NaN is still a count: 19, not 19.0
            out[c] = shown.astype(object).where(out[c].notna(), mask_text())
    return out
