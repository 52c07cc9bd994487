"""Disclosure control: the one module that decides what a published number may show (docs/privacy.md).

Modelled on OpenSAFELY ehrQL's `measures/disclosure_control.py`: the threshold, the rounding, every mask
(counts, rates, shares, estimates, curves) and every sentence that tells a reader about them are built here
from one setting, k = `threshold()` (`pipelines.config.min_cell()`: 11 by default, `PEER_OUTCOMES_MIN_CELL`
may raise it, never lower it). `analysis.published` calls these functions and masks nothing itself; the
dashboard and the evidence pack take every sentence that names k from here.

Policy:
- a count of 1..k-1 people is suppressed (shown as "< k"); 0 may be shown;
- a rate or share is suppressed when its numerator, denominator or complement (denominator - numerator)
  is 1..k-1, since any of the three gives the small count away;
- complementary suppression: within every set of cells that add up to a shown total (a row, a column), a
  lone suppressed cell is joined by the next-smallest cell, repeated until no set has exactly one;
- an estimate (survival, cumulative incidence, a share read off a curve, a mean, a quantile, a hazard
  ratio) is shown only where at least k people (or events, for a hazard ratio) stand behind it;
- survival curves stop where fewer than k remain at risk; numbers at risk are rounded to 5 and the
  per-time event and censoring counts are not published (they pin down exact event times);
- groups of fewer than k people are removed from curves and models, with a note saying so;
- site x track combinations of fewer than k people are in no published population at all, and the
  enrollment period moves in runs of months holding 0 or >= k of each (analysis.queries.SMALL_CELLS,
  analysis.population), so no difference between two filter choices describes fewer than k.
Suppressed numbers become NaN in published frames (charts leave gaps); `label` turns them into "< k"
for tables and CSV downloads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from peer_outcomes.pipelines.config import min_cell

ROUND_AT_RISK = 5
ESTIMATES = ["survival", "lower_95", "upper_95"]


def threshold() -> int:
    """k: the smallest number of people anything published may describe (never below 11)."""
    return min_cell()


def mask_text() -> str:
    """What a suppressed cell shows: "< 11" with the default threshold."""
    return f"< {threshold()}"


def policy_sentence() -> str:
    """The one-line policy shown beside every page (the dashboard's sidebar)."""
    return f"Numbers describing fewer than {threshold()} people are hidden (“{mask_text()}”)."


def methods_sentence() -> str:
    """The disclosure-control sentence ending every methods text and the evidence pack's methods."""
    k = threshold()
    return (
        f"Counts of 1–{k - 1} people are shown as “{mask_text()}” (with complementary suppression); curves stop "
        f"where fewer than {k} remain at risk and numbers at risk are rounded to {ROUND_AT_RISK}."
    )


def counts_sentence() -> str:
    """How hidden counts read: "Counts of 1–10 people are shown as “< 11”."."""
    return f"Counts of 1–{threshold() - 1} people are shown as “{mask_text()}”."


def too_few_sentence(what: str = "participants match these filters", then: str = "so nothing is shown") -> str:
    """Why a whole result is withheld: "Fewer than 11 participants match these filters, so nothing is shown."."""
    return f"Fewer than {threshold()} {what}, {then}."


def curve_stop_sentence() -> str:
    """How far a curve is drawn: "the curve stops where fewer than 11 remain at risk"."""
    return f"the curve stops where fewer than {threshold()} remain at risk"


def not_shown_sentence() -> str:
    """The legend for "not shown" in tables of estimates."""
    return f"“not shown”: fewer than {threshold()} people at risk or in the cell (or not yet observable)."


def small_groups_sentence() -> str:
    """What happens to small groups, for limitations sections."""
    k = threshold()
    return f"Groups with fewer than {k} people are left out of curves and models, and counts of 1–{k - 1} are hidden."


def is_small(values: pd.Series | np.ndarray | float) -> pd.Series | np.ndarray | bool:
    """True where a count describes 1..k-1 people (0 and missing are not small)."""
    k = threshold()
    v = pd.to_numeric(values, errors="coerce") if isinstance(values, pd.Series) else np.asarray(values)
    return (v >= 1) & (v < k)


def enough(n: pd.Series | np.ndarray | float) -> pd.Series | np.ndarray | bool:
    """True where at least k people (or events) stand behind a number, so it may be published."""
    return n >= threshold()


def count_text(n: float) -> str:
    """A population size for a sentence or title: "1,234", or "< 11" below k (0 too: a population line
    never says that a chosen group is empty because it was left out)."""
    return f"{n:,.0f}" if enough(n) else mask_text()


def estimate(value: float, n_at_risk: float) -> float:
    """An estimate read off a curve at one time, or NaN where fewer than k remain at risk."""
    return float(value) if enough(n_at_risk) else np.nan


def mask_estimates(frame: pd.DataFrame, at_risk: str = "n_at_risk", columns: Sequence[str] = ESTIMATES) -> pd.DataFrame:
    """A copy of a table of estimates (rates at fixed times, cohort cells) with those resting on fewer than
    k people at risk set to NaN."""
    out = frame.copy()
    out.loc[~enough(out[at_risk]), list(columns)] = np.nan
    return out


def mean(values: pd.Series) -> float:
    """The mean of the non-missing values, or NaN when fewer than k people have one."""
    v = values.dropna()
    return float(v.mean()) if enough(len(v)) else np.nan


def quantiles(values: pd.Series, qs: Sequence[float]) -> list[float]:
    """Quantiles of the non-missing values, or NaN for each when fewer than k people have one."""
    v = values.dropna()
    return v.quantile(list(qs)).tolist() if enough(len(v)) else [np.nan] * len(qs)


def rows_with_enough(frame: pd.DataFrame, people: str) -> pd.DataFrame:
    """The rows of a table (e.g. weeks x format) that describe at least k people."""
    return frame[enough(frame[people])]


def hide_time_past_curve(value: float, times: np.ndarray) -> float:
    """A time read off a curve (a median or its CI bound), or NaN where fewer than k were still followed:
    the curve is not shown there, so neither is a time read off it."""
    if pd.notna(value) and np.isfinite(value) and not enough((times >= value).sum()):
        return np.nan
    return value


def mask_sparse_terms(forest: pd.DataFrame, events: dict[str, float]) -> tuple[pd.DataFrame, list[str]]:
    """A hazard-ratio table with levels of fewer than k events (or an estimate that did not converge) shown
    as not estimable, and a note when any is: such a ratio is unstable and pins down a few people's events."""
    out = forest.copy()
    few = ~enough(out["term"].map(events).astype(float)) | out["hr_upper_95"].isna()
    out.loc[few, ["hr", "hr_lower_95", "hr_upper_95", "p"]] = np.nan
    notes = []
    if few.any():
        notes.append(
            f"{int(few.sum())} level(s) with fewer than {threshold()} relapses (or an estimate that does not "
            "converge) are shown as not estimable: their hazard ratio is left blank."
        )
    return out, notes


def suppress_event_rate(
    df: pd.DataFrame, events: str, exposure: str, rate: str, people: str, per: float = 100
) -> pd.DataFrame:
    """Add `rate` = per x events / exposure (e.g. relapses per 100 participant-weeks), hidden where the events
    are 1..k-1 or fewer than k people contribute; events then get complementary suppression across rows."""
    out = df.copy()
    out[rate] = per * out[events] / out[exposure].where(out[exposure] > 0)
    out.loc[is_small(out[events]) | ~enough(out[people]), rate] = np.nan
    return suppress_counts(out, events)


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
    return sorted(str(g) for g in counts[counts < threshold()].index)


def drop_small_groups(df: pd.DataFrame, groups: Iterable[str]) -> tuple[pd.DataFrame, list[str]]:
    """Remove people in any level, of any of `groups`, with fewer than k people; return a note per removal."""
    out, notes = df, []
    for g in groups:
        small = small_groups(out, g)
        if small:
            keep = ~out[g].astype("string").fillna("missing").isin(small)
            notes.append(
                f"{len(small)} {g.replace('_', ' ')} group(s) with fewer than {threshold()} people "
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
    k = threshold()
    out = curve[curve["n_at_risk"] >= k].drop(columns=["n_events", "n_censored"], errors="ignore").copy()
    out["n_at_risk"] = round_at_risk(out["n_at_risk"]).astype(int)
    return out.reset_index(drop=True)


def truncate_incidence(cif: pd.DataFrame, df: pd.DataFrame, group: str, time: str) -> pd.DataFrame:
    """Publishable cumulative-incidence curves: each group's curve stops where fewer than k remain at risk,
    as a Kaplan–Meier curve does (`df` holds the people behind `cif`, one row each)."""
    last = {}
    for g, part in df.groupby(group):
        t = np.sort(part[time].to_numpy())
        at_risk = len(t) - np.searchsorted(t, t, side="left")
        ok = t[enough(at_risk)]
        last[str(g)] = ok.max() if len(ok) else -1
    keep = [t <= last.get(str(g), -1) for g, t in zip(cif["group"], cif["time"], strict=True)]
    return cif[keep].reset_index(drop=True)


def round_at_risk(n: pd.Series) -> pd.Series:
    """Numbers at risk for a table: rounded to 5, NaN where fewer than k remain.

    Never shown below the first multiple of 5 at or above k (15 for k = 11): 11 or 12 at risk rounded to
    "10" would read as a published count under 11.
    """
    v = pd.to_numeric(n, errors="coerce").astype(float)
    floor = -(-threshold() // ROUND_AT_RISK) * ROUND_AT_RISK
    return ((v / ROUND_AT_RISK).round() * ROUND_AT_RISK).clip(lower=floor).mask(v < threshold())


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
