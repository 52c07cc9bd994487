"""Disclosure control: the one module that decides what a published number may show (docs/privacy.md).

Modelled on OpenSAFELY ehrQL's `measures/disclosure_control.py`: the threshold, the rounding, every mask
(counts, rates, shares, estimates, curves) and every sentence that tells a reader about them are built here
from one setting, k = `threshold()` (`pipelines.config.min_cell()`: 11 by default, `PEER_OUTCOMES_MIN_CELL`
may raise it, never lower it). `analysis.published` calls these functions and masks nothing itself; the
dashboard and the evidence pack take every sentence that names k from here.

Policy (docs/privacy.md states it per kind of output):
- a count of 1..k-1 people is suppressed (shown as "< k"); 0 may be shown; complementary suppression: within
  every set of cells that add up to a shown total (a row, a column, the population), a lone suppressed cell
  is joined by the next-smallest cell, repeated until no set has exactly one;
- every other count in a table is rounded to 5 (`round_counts`), so two selections' counts differ by a
  multiple of 5 that could be anything from 1 to 9, never by an exact small number;
- a rate or share is computed from the published (rounded) counts and hidden when its numerator,
  denominator or complement is 1..k-1; a small complement hides the numerator too;
- an estimate (survival, cumulative incidence, a mean, a quantile, a hazard ratio) is shown only where at
  least k people (or events, for a hazard ratio) stand behind it;
- curves (Kaplan–Meier, cumulative incidence, cohort cells, shares read off a curve) are drawn from
  coarsened rows (`coarsen`, OpenSAFELY's round_km): running counts of events and censorings rounded up to
  multiples of k, so every step and every change in the number at risk is 0 or at least k; they stop where
  fewer than k remain at risk; per-time event and censoring counts are not published;
- groups of fewer than k people are removed from curves and models, with a note saying so;
- site x track combinations of fewer than k people are in no published population at all, and the
  enrollment period moves in runs of months holding 0 or >= k of each (analysis.queries.SMALL_CELLS,
  analysis.population), so two selections' populations differ by 0 or at least k people;
- published CSV cells that a spreadsheet would run as a formula are neutralized (`csv_text`).
Suppressed numbers become NaN in published frames (charts leave gaps); `label` turns them into "< k" (a
count) or the recorded reason in words (an estimate) for tables and CSV downloads.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from peer_outcomes.pipelines.config import min_cell

ROUND_COUNTS = 5  # shown counts are rounded to this (round_counts)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESTIMATES = ["survival", "lower_95", "upper_95"]


# Why a published cell is empty, recorded where the mask is applied (`mark`) and carried in the frame's
# attrs["status"] (one Series of codes per column, "" where shown): pages, CSVs and the PDF say it in words
# (`status_words`), CSVs also as a `<column>_status` code (`csv_text`).
HIDDEN_SMALL, HIDDEN_COMPLEMENT, NOT_REACHED = "hidden_small", "hidden_complementary", "not_reached"


def status_words(status: str) -> str:
    """An empty cell's reason in words: "hidden (fewer than 11 people)", "not reached yet", ..."""
    return {
        HIDDEN_SMALL: f"hidden (fewer than {threshold()} people)",
        HIDDEN_COMPLEMENT: "hidden so other hidden figures cannot be worked out",
        NOT_REACHED: "not reached yet",
    }.get(status, "hidden")


def mark(frame: pd.DataFrame, column: str, where: pd.Series | np.ndarray, status: str) -> None:
    """Record `status` for the cells of `column` selected by `where` that have no reason yet."""
    where = where if isinstance(where, pd.Series) else pd.Series(np.asarray(where, dtype=bool), index=frame.index)
    where = where.reindex(frame.index, fill_value=False).astype(bool)
    codes = frame.attrs.setdefault("status", {}).setdefault(column, {})  # row label -> code: plain dicts, so
    for row in frame.index[where.to_numpy()]:  # pandas can compare and copy the attrs of frames it combines
        if status and not codes.get(row):
            codes[row] = status


def cell_status(frame: pd.DataFrame, column: str) -> pd.Series:
    """The recorded reason per cell of `column` ("" where none), aligned with the frame's rows."""
    codes = frame.attrs.get("status", {}).get(column, {})
    return pd.Series([codes.get(row, "") for row in frame.index], index=frame.index, dtype=object)


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
        f"Counts of 1–{k - 1} people are shown as “{mask_text()}” (with complementary suppression) and other counts "
        f"are rounded to {ROUND_COUNTS}; curves are drawn from event and censoring counts rounded up to multiples "
        f"of {k} and stop where fewer than {k} remain at risk."
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


def rounded_text(n: float) -> str:
    """A published count in a sentence, honest about its rounding (`round_counts`): "about 1,235", "0", or
    "< 11" when hidden. Beside an exact N (a title's "N = 28") it reads "of about 30", not "of 30"."""
    if pd.isna(n):
        return mask_text()
    return f"about {n:,.0f}" if n else "0"


def estimate(value: float, n_at_risk: float) -> float:
    """An estimate read off a curve at one time, or NaN where fewer than k remain at risk."""
    return float(value) if enough(n_at_risk) else np.nan


def mask_estimates(frame: pd.DataFrame, at_risk: str = "n_at_risk", columns: Sequence[str] = ESTIMATES) -> pd.DataFrame:
    """A copy of a table of estimates (rates at fixed times, cohort cells) with those resting on fewer than
    k people at risk set to NaN."""
    out = frame.copy()
    few = ~enough(out[at_risk])
    out.loc[few, list(columns)] = np.nan
    for c in columns:
        mark(out, c, few, HIDDEN_SMALL)
    return out


def mean(values: pd.Series) -> float:
    """The mean of the non-missing values, or NaN when fewer than k people have one."""
    v = values.dropna()
    return float(v.mean()) if enough(len(v)) else np.nan


def quantiles(values: pd.Series, qs: Sequence[float]) -> list[float]:
    """Quantiles of the non-missing values, or NaN for each when fewer than k people have one."""
    v = values.dropna()
    return v.quantile(list(qs)).tolist() if enough(len(v)) else [np.nan] * len(qs)


def counted_quantiles(values: pd.Series, counts: pd.Series, qs: Sequence[float]) -> list[float]:
    """`quantiles` of the values that `counts` people each have (a value's count, as an aggregate gives it),
    exactly as `quantiles` gives them on one value per person: pandas' linear interpolation between the
    order statistics at (n - 1) q, read off the cumulative counts, so no row per person is made."""
    keep = values.notna() & (counts > 0)
    v, w = values[keep].to_numpy(float), counts[keep].to_numpy(np.int64)
    order = np.argsort(v, kind="stable")
    v, ends = v[order], np.cumsum(w[order])  # values at positions ends[i - 1] .. ends[i] - 1 of the sorted rows
    n = int(ends[-1]) if len(ends) else 0
    if not enough(n):
        return [np.nan] * len(qs)
    out = []
    for q in qs:
        h = (n - 1) * q
        lo = int(np.floor(h))
        pair = v[np.searchsorted(ends, [lo, min(lo + 1, n - 1)], side="right")]  # the two order statistics
        out.append(float(np.quantile(pair, h - lo)))  # numpy's own interpolation, as pandas calls it
    return out


def rows_with_enough(frame: pd.DataFrame, people: str) -> pd.DataFrame:
    """The rows of a table (e.g. weeks x format) that describe at least k people."""
    return frame[enough(frame[people])]


def hide_time_past_curve(value: float, times: np.ndarray, weights: np.ndarray | None = None) -> float:
    """A time read off a curve (a median or its CI bound), or NaN where fewer than k were still followed
    (`weights`: how many people each time stands for, one each when None): the curve is not shown there, so
    neither is a time read off it."""
    w = np.ones(len(times)) if weights is None else np.asarray(weights, float)
    if pd.notna(value) and np.isfinite(value) and not enough(w[np.asarray(times) >= value].sum()):
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
        n = int(few.sum())
        notes.append(
            f"{n} {'level' if n == 1 else 'levels'} with fewer than {threshold()} relapses (or an estimate that "
            f"does not converge) {'is' if n == 1 else 'are'} shown as not estimable: "
            f"{'its' if n == 1 else 'their'} hazard ratio is left blank."
        )
    return out, notes


def suppress_event_rate(
    df: pd.DataFrame, events: str, exposure: str, rate: str, people: str, per: float = 100
) -> pd.DataFrame:
    """Add `rate` = per x events / exposure (e.g. relapses per 100 participant-weeks) from the published
    counts: events by the count rule (complementary across rows, rounded), exposure rounded; the rate is
    hidden where the events are 1..k-1 or fewer than k people contribute."""
    out = publish_counts(df, events)
    out[exposure] = round_counts(out[exposure])
    out[rate] = per * out[events] / out[exposure].where(out[exposure] > 0)
    out.loc[is_small(df[events]) | ~enough(df[people]), rate] = np.nan
    return out


def suppress_counts(
    df: pd.DataFrame, column: str, margins: Sequence[Sequence[str]] = ((),), hide: pd.Series | None = None
) -> pd.DataFrame:
    """Suppress small counts in `column`, then complementary cells so none can be recovered.

    `margins` lists the groupings whose cells add up to a published total: `[[]]` (the default) means
    all rows add up to one total; `[["site"], ["month"]]` protects both the rows and the columns of a
    site x month table. Returns a copy with suppressed values set to NaN (float column).
    """
    out = df.copy()
    values = pd.to_numeric(out[column], errors="coerce").astype(float)
    hidden = pd.Series(is_small(values), index=out.index).fillna(False).astype(bool)
    if hide is not None:  # cells hidden for another reason (e.g. a small complement) count as hidden too
        hidden |= hide.reindex(out.index, fill_value=False).astype(bool)
    mark(out, column, hidden, HIDDEN_SMALL)
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
    mark(out, column, hidden, HIDDEN_COMPLEMENT)  # the ones not already small were hidden as complements
    return out


def suppress_rate(
    df: pd.DataFrame, numerator: str, denominator: str, rate: str, count_margins: Sequence[Sequence[str]] = ((),)
) -> pd.DataFrame:
    """Add `rate` = numerator / denominator, with both counts published by the count rule and the rate
    computed from the published counts, so rate x denominator gives back only the rounded numerator.

    The rate is hidden when the numerator, the denominator or the rest (denominator - numerator) is small;
    a small rest hides the numerator too (18 matched beside 12 certified gives 6 uncertified away). The
    counts are suppressed complementarily within `count_margins` and rounded (`round_counts`).
    """
    out = df.copy()
    num = pd.to_numeric(out[numerator], errors="coerce").astype(float)
    den = pd.to_numeric(out[denominator], errors="coerce").astype(float)
    rest_small = pd.Series(is_small(den - num), index=out.index).fillna(False).astype(bool)
    risky = pd.Series(is_small(num) | is_small(den), index=out.index).fillna(False).astype(bool) | rest_small
    out = publish_counts(out, numerator, count_margins, hide=rest_small)
    out = publish_counts(out, denominator, count_margins)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = out[numerator] / out[denominator].where(out[denominator] > 0)
    out[rate] = r.mask(risky | out[numerator].isna() | out[denominator].isna())
    _mark_rate(out, rate, risky, (numerator, denominator))
    return out


def _mark_rate(out: pd.DataFrame, rate: str, risky: pd.Series, counts: Sequence[str]) -> None:
    """Why a rate is hidden: too few behind it, else the reason its hidden count was hidden."""
    mark(out, rate, risky, HIDDEN_SMALL)
    for c in counts:
        for code in (HIDDEN_COMPLEMENT, HIDDEN_SMALL):
            mark(out, rate, out[c].isna() & cell_status(out, c).eq(code), code)


def round_counts(values: pd.Series) -> pd.Series:
    """Shown counts rounded to the nearest 5 (halves up), never shown below the first multiple of 5 at or
    above k; 0 stays 0 and hidden (NaN) stays hidden.

    Exact counts of two selections (say all sites, and all sites but one) would differ by the exact count
    of the one left out, however small; rounded counts differ by a multiple of 5 that the reader cannot
    tell from anything between 1 and 9 (docs/privacy.md, "Selections and differencing").
    """
    v = pd.to_numeric(values, errors="coerce").astype(float)
    floor = -(-threshold() // ROUND_COUNTS) * ROUND_COUNTS
    r = np.floor(v / ROUND_COUNTS + 0.5) * ROUND_COUNTS
    return r.where(v == 0, r.clip(lower=floor)).where(v.notna())


def publish_counts(
    df: pd.DataFrame, column: str, margins: Sequence[Sequence[str]] = ((),), hide: pd.Series | None = None
) -> pd.DataFrame:
    """A table's counts as published: small ones suppressed with their complements (`suppress_counts`),
    the rest rounded (`round_counts`)."""
    out = suppress_counts(df, column, margins, hide)
    out[column] = round_counts(out[column])
    return out


def coarsen(
    df: pd.DataFrame, duration: str, code: str, group: str | None = None, exact_size: bool = True
) -> pd.DataFrame:
    """`coarsen_counts` of one row per person, as rows again (one per person the rounded counts stand for):
    for a model that takes rows. Returns rows with `duration`, `code` and (when given) `group`."""
    cols = [duration, code, *([group] if group else [])]
    missing = df[duration].isna() | df[code].isna()
    per = (df.loc[~missing, cols].assign(_n=1).groupby(cols, sort=False, dropna=False)["_n"].sum().reset_index())
    counts = pd.concat([df.loc[missing, cols].assign(_n=1), per], ignore_index=True)
    out = coarsen_counts(counts, duration, code, "_n", group, exact_size)
    return out.loc[out.index.repeat(out["_n"].to_numpy(int))].drop(columns="_n").reset_index(drop=True)


def coarsen_counts(
    counts: pd.DataFrame, duration: str, code: str, weight: str, group: str | None = None, exact_size: bool = True
) -> pd.DataFrame:
    """The counts a published curve is drawn from: per group, the running count of each outcome code (0 =
    censored) rounded up to a multiple of k, as OpenSAFELY's `round_km` does. `counts` holds how many people
    (`weight`) have each time, code and group; so does the result, one row per time and code with a count.

    A curve drawn from these counts drops only in steps of 0 or at least k events, and its number at risk
    changes only by 0 or at least k, so step x at-risk, cumulative incidence x group size, or the same
    step in two selections never gives back a count of 1..k-1. Each group keeps its real size when that
    size is itself a published population (`exact_size`, e.g. a site); otherwise its size is rounded down
    to a multiple of k. Either way the number at risk is never above the real one, so a curve that stops
    where fewer than k remain at risk in these counts stops no later than in the real ones. Counts with a
    missing duration or code are passed through for the model to drop.
    """
    k = threshold()
    missing = counts[duration].isna() | counts[code].isna()
    keep = counts.loc[~missing]
    labels = keep[group].astype(str) if group else pd.Series("All", index=keep.index)
    parts = [counts.loc[missing, [duration, code, *([group] if group else []), weight]]]
    for g, idx in labels.groupby(labels, sort=True).groups.items():
        t = keep.loc[idx, duration].to_numpy(float)
        c = keep.loc[idx, code].to_numpy(float).astype(int)
        w = keep.loc[idx, weight].to_numpy(float)
        total = int(w.sum())
        size = total if exact_size else total // k * k  # rounded down: never more at risk than there are
        times, inv = np.unique(t, return_inverse=True)
        codes = sorted(set(c[w > 0].tolist()) | {0}, key=lambda x: (x == 0, x))  # events before censorings at a tie
        n = np.stack([np.bincount(inv, weights=w * (c == cc), minlength=len(times)) for cc in codes], 1)
        rounded = np.ceil(n.cumsum(axis=0) / k) * k
        steps = np.diff(np.vstack([np.zeros(len(codes)), rounded]), axis=0).ravel()  # time-major, codes in order
        steps -= np.clip(steps.cumsum() - size, 0, None)  # rounding up runs out of people at the tail
        steps = np.clip(steps, 0, None).astype(int)
        out_t, out_c, out_n = np.repeat(times, len(codes)), np.tile(codes, len(times)), steps
        if steps.sum() < size:  # cannot happen (rounded-up counts add up to at least the size); kept as a guard
            out_t, out_c = np.r_[out_t, times[-1]], np.r_[out_c, 0]
            out_n = np.r_[out_n, size - steps.sum()]
        shown = out_n > 0
        rows = pd.DataFrame({duration: out_t[shown], code: out_c[shown].astype(int), weight: out_n[shown]})
        if group:
            rows[group] = g
        parts.append(rows)
    return pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)


def at_risk(n: pd.Series) -> pd.Series:
    """Numbers at risk for a table, read off a coarsened curve (`coarsen`): NaN where fewer than k remain."""
    v = pd.to_numeric(n, errors="coerce").astype(float)
    return v.mask(~enough(v))


def csv_text(frame: pd.DataFrame) -> str:
    """A published frame as CSV text, with every text cell a spreadsheet would run as a formula neutralized.

    OWASP's CSV-injection rule: a cell beginning with =, +, -, @, tab or carriage return is prefixed with a
    single quote, so Excel, LibreOffice and Google Sheets show it as text. Numbers are left alone.
    """
    out = frame.copy()
    for c in list(frame.attrs.get("status", {})):  # why each empty cell is empty, as a code a program can read
        if c in out:
            empty = frame[c].isna() | ~frame[c].map(lambda v: isinstance(v, numbers.Number))
            out[f"{c}_status"] = cell_status(frame, c).where(empty, "shown").replace("", "hidden")
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(neutralize)
    out.columns = [neutralize(str(c)) for c in out.columns]
    return out.to_csv(index=False, lineterminator="\r\n")  # RFC 4180 line ends: a CR inside a cell gets quoted


def neutralize(value: object) -> object:
    """One CSV cell: a string starting with =, +, -, @, tab or CR gets a leading single quote."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def small_groups(df: pd.DataFrame, group: str, weight: str | None = None) -> list[str]:
    """Levels of `group` with fewer than k people (rows, or the sum of `weight` when each row counts that
    many people): to be removed before a curve or model."""
    levels = df[group].astype("string").fillna("missing")
    counts = levels.value_counts() if weight is None else df[weight].groupby(levels).sum()
    return sorted(str(g) for g in counts[counts < threshold()].index)


def drop_small_groups(
    df: pd.DataFrame, groups: Iterable[str], weight: str | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Remove people in any level, of any of `groups`, with fewer than k people (rows, or the sum of
    `weight`); return a note per removal."""
    out, notes = df, []
    for g in groups:
        small = small_groups(out, g, weight)
        if small:
            keep = ~out[g].astype("string").fillna("missing").isin(small)
            n = len(small)  # `g` stays a code here: the dashboard's words put it in a director's words
            notes.append(
                f"{n} {'group' if n == 1 else 'groups'} by {g} with fewer than {threshold()} people "
                f"{'was' if n == 1 else 'were'} left out to protect privacy."
            )
            out = out[keep]
    return out, notes


def methods_text(text: str) -> str:
    """A methods sentence with any small row count in it (e.g. "3 rows with missing values") masked."""
    return re.sub(
        r"\b(\d+)( rows?\b)", lambda m: (mask_text() if is_small(int(m.group(1))) else m.group(1)) + m.group(2), text
    )


def truncate_curve(curve: pd.DataFrame) -> pd.DataFrame:
    """Publishable survival/incidence curve from coarsened rows (`coarsen`): stop each group before fewer
    than k remain at risk, and drop the per-time event and censoring counts.

    The number at risk stays as the coarsened rows give it: it moves only in steps of 0 or at least k.
    """
    out = curve[enough(curve["n_at_risk"])].drop(columns=["n_events", "n_censored"], errors="ignore").copy()
    out["n_at_risk"] = out["n_at_risk"].astype(int)
    return out.reset_index(drop=True)


def truncate_incidence(
    cif: pd.DataFrame, rows: pd.DataFrame, group: str, time: str, weight: str | None = None
) -> pd.DataFrame:
    """Publishable cumulative-incidence curves: each group's curve stops where fewer than k remain at risk,
    as a Kaplan–Meier curve does (`rows` are the people behind `cif`, one row each as `coarsen` gives, or
    as many as `weight` says, as `coarsen_counts` gives)."""
    last = {}
    for g, part in rows.groupby(group):
        part = part[part[time].notna()]
        t = part[time].to_numpy(float)
        w = np.ones(len(t)) if weight is None else part[weight].to_numpy(float)
        times, inv = np.unique(t, return_inverse=True)
        n_at_risk = np.bincount(inv, weights=w, minlength=len(times))[::-1].cumsum()[::-1]
        ok = times[enough(n_at_risk)]
        last[str(g)] = ok.max() if len(ok) else -1
    keep = [t <= last.get(str(g), -1) for g, t in zip(cif["group"], cif["time"], strict=True)]
    return cif[keep].reset_index(drop=True)


def load_counts(batches: pd.DataFrame) -> pd.DataFrame:
    """Load batches as published: rows read and loaded from the participants file are left blank.

    Everyone in the file minus the published N is exactly the number of people in the small groups left
    out of every figure (3,000 loaded beside N = 2,992 gives a site of 8 away). Other files count
    sessions, matches and reports, not people, and the quarantine counts stay exact so a coordinator can
    fix the export (docs/privacy.md, the policy table).
    """
    out = batches.copy()
    people = out["entity"].eq("participants")
    for c in ("rows_read", "rows_loaded"):
        if c in out:
            out[c] = out[c].astype(float).mask(people)
            mark(out, c, people, HIDDEN_COMPLEMENT)  # it would give away the small groups left out
    return out


def label(df: pd.DataFrame, columns: Iterable[str], estimates: Iterable[str] = ()) -> pd.DataFrame:
    """A display/CSV copy: each empty cell of `columns` says why, as recorded (`mark`): a hidden count reads
    "< 11"; a hidden estimate (in `estimates`) and any cell not reached yet read `status_words`."""
    out = df.copy()
    estimates = set(estimates)
    for c in columns:
        if c in out:
            shown = out[c]
            if pd.api.types.is_float_dtype(shown) and (shown.dropna() % 1 == 0).all() and c not in estimates:
                shown = shown.astype("Int64")  # a count hidden as NaN is still a count: 19, not 19.0
            small = mask_text() if c not in estimates else status_words(HIDDEN_SMALL)
            why = cell_status(out, c).map(lambda s, small=small: small if s in ("", HIDDEN_SMALL) else status_words(s))
            out[c] = shown.astype(object).where(out[c].notna(), why)
    return out


def suppress_share_ci(
    df: pd.DataFrame, numerator: str, denominator: str, rate: str, people: str | None = None,
    count_margins: Sequence[Sequence[str]] = ((),),
) -> pd.DataFrame:
    """`suppress_rate`, with rows describing fewer than k people (`people`, dropped) hidden like small cells,
    and the share's Wilson 95% CI (`<rate>_lower_95`, `<rate>_upper_95`) computed from the published counts,
    so the bounds give back no more than the rounded counts do; hidden wherever the share is."""
    from peer_outcomes.analysis.intervals import wilson

    few = _few(df, people)
    out = df.copy()
    num = pd.to_numeric(out[numerator], errors="coerce").astype(float)
    den = pd.to_numeric(out[denominator], errors="coerce").astype(float)
    rest_small = pd.Series(is_small(den - num), index=out.index).fillna(False).astype(bool)
    risky = pd.Series(is_small(num) | is_small(den), index=out.index).fillna(False).astype(bool) | rest_small | few
    out = publish_counts(out, numerator, count_margins, hide=rest_small | few)
    out = publish_counts(out, denominator, count_margins, hide=few)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = out[numerator] / out[denominator].where(out[denominator] > 0)
    out[rate] = r.mask(risky | out[numerator].isna() | out[denominator].isna())
    _mark_rate(out, rate, risky, (numerator, denominator))
    lo, hi = wilson(out[numerator], out[denominator])
    out[f"{rate}_lower_95"] = pd.Series(lo, index=out.index).where(out[rate].notna())
    out[f"{rate}_upper_95"] = pd.Series(hi, index=out.index).where(out[rate].notna())
    return out.drop(columns=[people] if people else [])


def suppress_event_rate_ci(
    df: pd.DataFrame, events: str, exposure: str, rate: str, people: str, per: float = 100,
    count_margins: Sequence[Sequence[str]] = ((),),
) -> pd.DataFrame:
    """Events per `per` units of exposure (e.g. incidents per 100 mentor-months) as published: rows of fewer
    than k people (`people`, dropped) hide their events and exposure like small cells; events of 1..k-1 are
    never shown (complementary within `count_margins`, the rest rounded); exposure rounded; the rate and its
    exact Poisson 95% CI (`<rate>_lower_95`, `<rate>_upper_95`) come from the published counts."""
    from peer_outcomes.analysis.intervals import poisson_exact

    few = _few(df, people)
    out = publish_counts(df, events, count_margins, hide=few)
    out = publish_counts(out, exposure, count_margins, hide=few)
    out.loc[few, exposure] = np.nan  # exposure of a few people's months is theirs too, even when large
    with np.errstate(divide="ignore", invalid="ignore"):
        r = per * out[events] / out[exposure].where(out[exposure] > 0)
    out[rate] = r.mask(few | pd.Series(is_small(df[events]), index=df.index).fillna(False).astype(bool))
    lo, hi = poisson_exact(out[events], out[exposure], per)
    out[f"{rate}_lower_95"] = pd.Series(lo, index=out.index).where(out[rate].notna())
    out[f"{rate}_upper_95"] = pd.Series(hi, index=out.index).where(out[rate].notna())
    return out.drop(columns=[people])


def _few(df: pd.DataFrame, people: str | None) -> pd.Series:
    """Rows describing fewer than k people (never any when no `people` column is named)."""
    if people is None:
        return pd.Series(False, index=df.index)
    return pd.Series(~enough(pd.to_numeric(df[people], errors="coerce").fillna(0)), index=df.index).astype(bool)
