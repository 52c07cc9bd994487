"""Published results: query the marts, fit the model, suppress, and return tidy frames + methods text.

This is the only door from peer_outcomes.analysis to anything that leaves the program (dashboard, evidence pack, CSV
downloads): every frame a function here returns has already been through `analysis.disclosure`, which
holds every mask; nothing here compares a number with the threshold itself. One
function per published result; each returns a `Published` with the frames, one methods sentence, notes
(e.g. groups left out for privacy) and a population line for chart titles.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from peer_outcomes.analysis import disclosure, population, queries, results
from peer_outcomes.analysis.queries import Filters
from peer_outcomes.analysis.results import ModelResult
from peer_outcomes.pipelines.config import HEADLINE_DAYS

if TYPE_CHECKING:
    from peer_outcomes.analysis.km import KMResult

Db = str | os.PathLike[str]
GROUPINGS = {"site": "Site", "program_track": "Track", "main_format": "Main format", "cohort_quarter": "Cohort"}
PROGRAM = {"program": "Program"}  # a compare-by grouping only where the warehouse holds several (`groupings`)
CAUSES = {1: "relapse", 2: "dropout", 3: "completion"}
FEATURE_ESTIMATES = [f"{y}{end}" for y in ("retained_90", "relapse_free_180") for end in ("", "_lower_95", "_upper_95")]
COX_COVARIATES = ["program_track", "age_group", "gender", "primary_substance", "housing_at_intake"]
N = "n_people"  # the people a row of counts stands for (queries.counts)


@dataclass
class Published:
    """One published result: suppressed frames, a methods sentence, privacy notes, the population."""

    frames: dict[str, pd.DataFrame]
    methods: str
    population: str
    n: float  # participants described (NaN when suppressed)
    notes: list[str] = field(default_factory=list)
    technical: str = ""  # the methods with their statistical references (R equivalents, conventions)

    def __post_init__(self) -> None:
        """`methods` and `notes` in a reader's words; the statistical references they cited are kept, with
        the rest of the methods, in `technical` (the methods section for researchers)."""
        self.technical = disclosure.methods_text(self.technical or self.methods)  # "3 rows" -> "< 11 rows"
        self.methods = results.plain_methods(disclosure.methods_text(self.methods))
        self.notes = [results.plain_methods(n) for n in self.notes]

    @property
    def empty(self) -> bool:
        return all(df.empty for df in self.frames.values())


def _finite(model: pd.DataFrame) -> pd.DataFrame:
    """A hazard-ratio table with any overflowed (infinite) estimate or bound shown as not estimable (NaN)."""
    cols = [c for c in ("hr", "hr_lower_95", "hr_upper_95", "p") if c in model]
    out = model.copy()
    out[cols] = out[cols].astype(float).where(np.isfinite(out[cols].astype(float)))
    return out


def _fitted(res: ModelResult, n: int, in_small_groups: int = 0, reason: str = "with missing values") -> str:
    """The model's methods sentence with the people it used out of the `n` the page describes.

    Said so that nothing under the threshold can be computed: the number left out is shown only when it
    is one count at or above k; people left out in groups smaller than k (`in_small_groups`) are never
    counted, since a total of several hidden groups could be combined with other figures.
    """
    other = n - res.n - in_small_groups
    if in_small_groups > 0:
        rest = f", and {disclosure.count_text(other)} {reason}" if other > 0 else ""
        return (f"{res.how}, fitted on the {n:,} people except those in groups of fewer than "
                f"{disclosure.threshold()}{rest}.")
    if other <= 0:
        return f"{res.how}, fitted on all {n:,} people."
    return f"{res.how}, fitted on all but {disclosure.count_text(other)} of the {n:,} people, left out {reason}."


def groupings(db: Db) -> dict[str, str]:
    """The compare-by choices: GROUPINGS, and Program when the warehouse holds more than one program."""
    return {**GROUPINGS, **PROGRAM} if len(queries.programs(db)) > 1 else dict(GROUPINGS)


def program_names(db: Db) -> dict[str, str]:
    """Program code -> the program's name (mapping.yaml program_name, else its code)."""
    p = queries.programs(db)
    return dict(zip(p["program"], p["name"], strict=True))


def _cutoffs(db: Db, f: Filters) -> pd.DataFrame:
    """The `programs` rows (code, name, as_of) of the programs `f` chooses within those its role may see."""
    p = queries.programs(db)
    for chosen in (f.programs, f.allowed_programs):  # never another program's cutoff to a role limited to some
        p = p[p["program"].isin(chosen)] if chosen else p
    return p


def cutoff(db: Db, f: Filters) -> pd.Timestamp:
    """The latest data cutoff of the programs `f` describes (the load's cutoff when none is recorded)."""
    p = _cutoffs(db, f)
    return pd.Timestamp(p["as_of"].max() if len(p) else queries.settings(db).get("as_of"))


def data_to(db: Db, f: Filters) -> str:
    """'data to 2026-06-30', or each selected program's own cutoff when they differ:
    'data to 2026-06-30 (Riverside Recovery), 2026-09-30 (Hilltop)'."""
    p = _cutoffs(db, f)
    if p.empty:  # a warehouse without programs rows (never loaded): the load's cutoff
        return f"data to {pd.Timestamp(queries.settings(db).get('as_of')):%Y-%m-%d}"
    if p["as_of"].nunique() == 1:
        return f"data to {pd.Timestamp(p['as_of'].iloc[0]):%Y-%m-%d}"
    return "data to " + ", ".join(f"{pd.Timestamp(a):%Y-%m-%d} ({n})" for n, a in zip(p["name"], p["as_of"], strict=True))


def gap_text(db: Db, f: Filters) -> str:
    """The disengagement gap of the programs `f` describes, in words: '30 days', or each program's own when
    they were loaded with different gaps: '30 days (Riverside Recovery), 21 days (Hilltop)'."""
    p = _cutoffs(db, f)
    if p.empty:  # a warehouse without programs rows: the load's gap
        return f"{queries.settings(db).get('gap_days')} days"
    if p["gap_days"].nunique() == 1:
        return f"{int(p['gap_days'].iloc[0])} days"
    return ", ".join(f"{int(g)} days ({n})" for n, g in zip(p["name"], p["gap_days"], strict=True))


def _population(db: Db, f: Filters, n: int) -> str:
    return f"N = {disclosure.count_text(n)} participants, {_describe(db, f)}; {data_to(db, f)}"


def _describe(db: Db, f: Filters) -> str:
    """Filters.describe with program codes as the programs' names."""
    if not f.programs:
        return f.describe()
    names = program_names(db)
    return replace(f, programs=tuple(names.get(c, c) for c in f.programs)).describe()


def _named_programs(db: Db, df: pd.DataFrame, by: str | None) -> pd.DataFrame:
    """Compared by program: each group named as its program (mapping.yaml program_name), not by its code."""
    if by != "program" or by not in df:
        return df
    return df.assign(program=df["program"].map(program_names(db)).fillna(df["program"]))


def _too_few(db: Db, f: Filters, n: int, names: list[str]) -> Published | None:
    if disclosure.enough(n):
        return None
    note = disclosure.too_few_sentence()
    return Published({k: pd.DataFrame() for k in names}, "", _population(db, f, n), np.nan, [note])


def _as_int(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return df.assign(**{c: df[c].fillna(0).astype(int) for c in cols})


def _coarse_km(counts: pd.DataFrame, duration: str, event: str, group: str | None) -> tuple[KMResult, pd.DataFrame]:
    """Kaplan–Meier on the coarsened counts every published curve is drawn from (disclosure.coarsen_counts),
    and those counts (`N` people per time, event and group). A group keeps its real size only when it is a
    population the filters can choose anyway (population.is_selection); the result's n counts the real people,
    for the methods sentence."""
    from peer_outcomes.analysis.km import fit_km

    rows = disclosure.coarsen_counts(counts, duration, event, N, group, exact_size=population.is_selection(group))
    res = fit_km(rows, duration, event, group=group, weights=N)
    return replace(res, n=int(counts[N].sum()) - res.n_excluded), rows


def _km_frames(df: pd.DataFrame, duration: str, event: str, group: str | None) -> tuple[dict, list[str], str]:
    """KM curve, numbers at risk, rates at 30/90/180/365 days and medians, all suppressed."""

    notes: list[str] = []
    n = int(df[N].sum())
    if group:
        df = df.assign(**{group: df[group].astype("string").fillna("unknown")})
        df, notes = disclosure.drop_small_groups(df, [group], N)
        if df.empty:  # every group is small: say so, rather than fit a model on no one
            what = GROUPINGS.get(group, group.replace("_", " ")).lower()
            note = f"Every {what} has fewer than {disclosure.threshold()} people, so this comparison cannot be shown."
            return {k: pd.DataFrame() for k in ("curve", "at_risk", "rates", "summary")}, [*notes, note], ""
    res, rows = _coarse_km(df, duration, event, group)
    times = list(HEADLINE_DAYS)
    at = res.at([0, *times])
    at_risk = at.assign(n_at_risk=disclosure.at_risk(at["n_at_risk"]))
    at_risk = at_risk.pivot(index="group", columns="time", values="n_at_risk").reset_index()
    at_risk.columns = ["group", *[f"day_{t}" for t in [0, *times]]]
    rates = disclosure.mask_estimates(at[at["time"].isin(times)].reset_index(drop=True))  # masks keyed by row
    rates = rates.drop(columns="n_at_risk")
    summary = _safe_medians(res.summary, rows, duration, group)
    summary = summary[["group", "n", "events", "median", "median_lower_95", "median_upper_95"]]
    frames = {"curve": disclosure.truncate_curve(res.curve), "at_risk": at_risk, "rates": rates, "summary": summary}
    return frames, notes, _fitted(res, n, n - int(df[N].sum()))


def filter_options(db: Db, allowed_sites: tuple[str, ...] = (), allowed_programs: tuple[str, ...] = ()) -> dict:
    """Sidebar choices: sites and tracks with at least k participants, and the enrollment periods, among the
    `allowed_sites` within the `allowed_programs` a role may see (all when empty).

    A site or track smaller than k is not offered, and its people are left out of "all sites" too
    (queries.SMALL_CELLS), so no difference of two choices recovers it. The period moves in the runs of
    months of analysis.population, not days or single months, for the same reason.
    """
    sizes = queries.group_sizes(db, allowed_sites, allowed_programs)
    sizes = sizes[disclosure.enough(sizes["n"])]  # the small program x site x track cells are in no population
    big = {col: sorted(str(v) for v, n in sizes.groupby(col)["n"].sum().items() if disclosure.enough(n))
           for col in ("site", "track", "program")}  # fmt: skip
    programs = big["program"] if len(big["program"]) > 1 else []  # one program to offer: nothing to choose
    names = {c: n for c, n in program_names(db).items() if not allowed_programs or c in allowed_programs}
    return {"sites": big["site"], "tracks": big["track"], "programs": programs, "program_names": names,
            "periods": population.enrollment_periods(db, allowed_sites, allowed_programs)}


def _safe_medians(summary: pd.DataFrame, df: pd.DataFrame, duration: str, group: str | None) -> pd.DataFrame:
    """Hide a median (or CI bound) that falls where fewer than k remain at risk: the curve is not shown
    there, so neither is a time read off it."""
    out = summary.copy()
    labels = df[group].astype(str) if group else pd.Series("All", index=df.index)
    cols = ["median", "median_lower_95", "median_upper_95"]
    for c in cols:  # empty before any mask: the curve has not come down that far yet
        disclosure.mark(out, c, out[c].isna(), disclosure.NOT_REACHED)
    for i, row in out.iterrows():
        mine = labels == row["group"]
        t, w = df.loc[mine, duration].to_numpy(), df.loc[mine, N].to_numpy()
        for col in cols:
            out.loc[i, col] = disclosure.hide_time_past_curve(row[col], t, w)
    for c in cols:
        disclosure.mark(out, c, out[c].isna(), disclosure.HIDDEN_SMALL)
    return out


@population.guard
def headline(db: Db, f: Filters) -> Published:
    """Overview tiles: enrolled, retained at 90 days, median retention, relapse-free at 180 days, matched."""

    retained = _as_int(queries.counts(db, f, ["retention_days", "is_disengaged"]), ["is_disengaged"])
    n = int(retained[N].sum())
    if (none := _too_few(db, f, n, ["tiles"])) is not None:
        return none
    ret, ret_rows = _coarse_km(retained, "retention_days", "is_disengaged", None)
    relapse = _as_int(queries.counts(db, f, ["relapse_days", "is_relapse"]), ["is_relapse"])
    rel, _ = _coarse_km(relapse, "relapse_days", "is_relapse", None)
    r90 = ret.at([90]).iloc[0]
    f180 = rel.at([180]).iloc[0]
    matched, meant = _matched(queries.counts(db, f, ["is_matched", "is_meant_to_be_matched", "program_track"]))
    med = _safe_medians(ret.summary, ret_rows, "retention_days", None)
    sessions, with_sessions = queries.mean(db, f, "sessions_per_week_90d")
    rows = [
        ("enrolled", "Participants", float(n), "people"),
        ("retained_90", "Still engaged at 90 days", disclosure.estimate(r90.survival, r90.n_at_risk), "share"),
        ("median_retention", "Median retention",
         float(med["median"].iloc[0]), "days"),
        ("relapse_free_180", "Relapse-free at 180 days", disclosure.estimate(f180.survival, f180.n_at_risk), "share"),
        ("matched", "Matched with a mentor", float(matched["rate"].iloc[0]), "share"),
        ("sessions_per_week", "Sessions a week (90 d)", disclosure.estimate(sessions, with_sessions), "per week"),
    ]  # fmt: skip
    tiles = pd.DataFrame(rows, columns=["key", "label", "value", "unit"]).assign(n=np.nan, of="")
    disclosure.mark(tiles, "value", tiles["key"].eq("median_retention"), disclosure.cell_status(med, "median").iloc[0])
    disclosure.mark(tiles, "value", tiles["key"].eq("matched"), disclosure.cell_status(matched, "rate").iloc[0])
    disclosure.mark(tiles, "value", tiles["value"].isna(), disclosure.HIDDEN_SMALL)  # the rest: too few behind it
    tiles.loc[tiles["key"] == "matched", ["n", "of"]] = [matched["n"].iloc[0], meant]
    if meant is None:  # no one in this selection is in a track meant to have a mentor: no share to show
        tiles = tiles[tiles["key"] != "matched"]
    methods = f"{_fitted(ret, n)} Relapse: {_fitted(rel, n)} {disclosure.methods_sentence()}"
    return Published({"tiles": tiles}, methods, _population(db, f, n), float(n))


def _matched(df: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """The share matched with a mentor among those meant to be (marts: is_meant_to_be_matched), as a published
    rate with its denominator (`n`), and the denominator in words: "of about 1,235 people in the peer_mentoring
    track" (the published count is rounded) (codes stay codes here; the dashboard's words translate them). None when no one is meant to be.
    `df`: people (`N`) per is_matched, is_meant_to_be_matched and program_track."""
    meant = df[df["is_meant_to_be_matched"].fillna(False).astype(bool)]
    k = int((meant["is_matched"].fillna(0).astype(float) * meant[N]).sum())
    counts = pd.DataFrame({"k": [k], "n": [int(meant[N].sum())]})
    rate = disclosure.suppress_rate(counts, "k", "n", "rate", [[]])
    if meant.empty:
        return rate, None
    tracks = sorted(meant["program_track"].fillna("none").astype(str).unique())
    where = "" if len(tracks) == df["program_track"].fillna("none").nunique() else (
        f" in the {' and '.join(tracks)} track{'s' if len(tracks) > 1 else ''}")
    return rate, f"of {disclosure.rounded_text(rate['n'].iloc[0])} people{where}"


def _km_published(db: Db, f: Filters, duration: str, event: str, by: str | None) -> Published:
    df = _as_int(queries.counts(db, f, [duration, event, *([by] if by else [])]), [event])
    n = int(df[N].sum())
    names = ["curve", "at_risk", "rates", "summary"]
    if (none := _too_few(db, f, n, names)) is not None:
        return none
    frames, notes, method = _km_frames(_named_programs(db, df, by), duration, event, by)
    return Published(frames, f"{method} {disclosure.methods_sentence()}", _population(db, f, n), float(n), notes)


@population.guard
def retention(db: Db, f: Filters, by: str | None = None) -> Published:
    """Kaplan–Meier retention (time to disengagement), optionally by site, track, main format or cohort."""
    return _km_published(db, f, "retention_days", "is_disengaged", by)


@population.guard
def relapse_free(db: Db, f: Filters, by: str | None = None) -> Published:
    """Kaplan–Meier relapse-free survival (time to first relapse, censored at last contact)."""
    return _km_published(db, f, "relapse_days", "is_relapse", by)


@population.guard
def cohort_retention(db: Db, f: Filters, months: int = 12) -> Published:
    """Retention heatmap: KM share still engaged by enrollment month x months since enrollment."""

    counts = queries.counts(db, f, ["retention_days", "is_disengaged", "cohort_month"])
    df = _as_int(counts, ["is_disengaged"])
    n = int(df[N].sum())  # the population line counts everyone filtered, so leaving groups out reveals nothing
    if (none := _too_few(db, f, n, ["cells"])) is not None:
        return none
    codes, firsts = pd.factorize(df["cohort_month"])  # format the few months, not every row
    df = df.assign(cohort=np.asarray(pd.to_datetime(firsts).strftime("%Y-%m"), dtype=object)[codes])
    df, notes = disclosure.drop_small_groups(df, ["cohort"], N)
    if df.empty:
        notes = [f"Every enrollment month has fewer than {disclosure.threshold()} people, so retention by month cannot be shown."]
        return Published({"cells": pd.DataFrame()}, "", _population(db, f, n), float(n), notes)
    res, _ = _coarse_km(df, "retention_days", "is_disengaged", "cohort")
    cells = res.at([30 * m for m in range(1, months + 1)])
    cells = cells.assign(months=(cells["time"] // 30).astype(int))
    cells = disclosure.mask_estimates(cells).assign(n_at_risk=lambda c: disclosure.at_risk(c["n_at_risk"]))
    # a cohort's later months are not yet observable: no one has that much follow-up
    cells = cells.rename(columns={"group": "cohort_month"})
    cells = cells[["cohort_month", "months", "survival", "lower_95", "upper_95", "n_at_risk"]]
    return Published({"cells": cells}, f"{_fitted(res, n, n - int(df[N].sum()))} {disclosure.methods_sentence()}", _population(db, f, n), float(n), notes)


@population.guard
def competing_risks(db: Db, f: Filters, by: str | None = None) -> Published:
    """Cumulative incidence of relapse, dropout and completion (Aalen–Johansen, exact ties)."""
    from peer_outcomes.analysis.competing import cumulative_incidence

    cols = ["time_days", "event_code", "event_name", *([by] if by else [])]
    df = _named_programs(db, queries.counts(db, f, cols, "marts.competing"), by)
    n = int(df[N].sum())
    if (none := _too_few(db, f, n, ["cif", "events"])) is not None:
        return none
    notes: list[str] = []
    group = by or "group"
    df = df.assign(**{group: df[by].astype("string").fillna("unknown") if by else "All"})
    events = df.groupby([group, "event_name"])[N].sum().rename("n").reset_index().rename(columns={group: "group"})
    events = disclosure.publish_counts(events, "n", margins=[["group"], ["event_name"]])
    if by:
        df, notes = disclosure.drop_small_groups(df, [by], N)
        events = events[events["group"].isin(df[by].unique())]
    rows = disclosure.coarsen_counts(df, "time_days", "event_code", N, group, exact_size=population.is_selection(by))
    res = cumulative_incidence(rows, "time_days", "event_code", CAUSES, group=by, weights=N)
    res = replace(res, n=int(df[N].sum()) - res.n_excluded)  # the real people the coarsened counts stand for
    cif = disclosure.truncate_incidence(res.summary, rows, group, "time_days", N)
    return Published({"cif": cif, "events": events}, f"{_fitted(res, n, n - int(df[N].sum()))} {disclosure.methods_sentence()}",
                     _population(db, f, n), float(n), notes)  # fmt: skip


def _pattern_rows(rows: pd.DataFrame, pat: pd.DataFrame, covs: list[str]) -> pd.DataFrame:
    """The count rows of the patterns kept in `pat` (`queries.pattern_counts`), each with its pattern's
    covariates as categoricals: codes taken per row, no text made per row."""
    keep = np.zeros(int(rows["pattern"].max()) + 1 if len(rows) else 0, bool)
    keep[pat.index.to_numpy()] = True
    kept = rows[keep[rows["pattern"].to_numpy()]]
    at = kept["pattern"].to_numpy()
    cols = {}
    for c in covs:
        codes, levels = pd.factorize(pat[c])
        full = np.full(len(keep), -1)
        full[pat.index.to_numpy()] = codes
        cols[c] = pd.Categorical.from_codes(full[at], categories=pd.Index(levels.astype(str), dtype=object))
    return pd.DataFrame({"relapse_days": kept["relapse_days"].to_numpy(), "is_relapse": kept["is_relapse"].to_numpy(),
                         **cols, N: kept[N].to_numpy()})  # fmt: skip


@population.guard
def relapse_cox(db: Db, f: Filters) -> Published:
    """Cox model of time to first relapse: a forest-plot frame of hazard ratios and the PH check."""
    from peer_outcomes.analysis.cox import fit_cox

    pat, rows = queries.pattern_counts(db, f, "relapse_days", "is_relapse", COX_COVARIATES)
    rows = _as_int(rows, ["is_relapse"])
    n = int(rows[N].sum())
    if (none := _too_few(db, f, n, ["forest"])) is not None:
        return none
    # every check on groups runs on the covariate patterns, each with its people and relapses
    at = rows["pattern"].to_numpy()
    pat = pat.assign(**{N: np.bincount(at, rows[N], len(pat)).astype(np.int64),
                        "relapses": np.bincount(at, rows["is_relapse"] * rows[N], len(pat)).astype(np.int64)})
    covs = [c for c in COX_COVARIATES if pat[c].nunique(dropna=True) > 1 or pat[c].isna().any()]
    pat = pat.assign(**{c: pat[c].astype("string").fillna("unknown") for c in covs})
    pat, notes = disclosure.drop_small_groups(pat, covs, N)
    covs = [c for c in covs if pat[c].nunique() > 1]
    relapses = pat["relapses"]
    if not disclosure.enough(int(relapses.sum())) or not covs:
        note = disclosure.too_few_sentence("relapses (or nothing to compare) in this selection", "so no model is fitted")
        empty = pd.DataFrame(columns=["term", "label", "hr", "hr_lower_95", "hr_upper_95", "p"])
        return Published({"forest": empty, "ph_test": pd.DataFrame()}, "", _population(db, f, n), float(n), [*notes, note])
    # the commonest level is the reference (a tie: the first in sort order)
    categorical = {c: pat[N].groupby(pat[c]).sum().sort_index(kind="stable").idxmax() for c in covs}
    df = _pattern_rows(rows, pat, covs)
    res = fit_cox(df[["relapse_days", "is_relapse", *covs, N]], "relapse_days", "is_relapse", covs, categorical, weights=N)
    forest = _finite(res.summary[["term", "label", "hr", "hr_lower_95", "hr_upper_95", "p"]].reset_index(drop=True))
    # a level with fewer than k relapses has an unstable (often overflowing) hazard ratio that also pins
    # down a handful of people's events: shown as not estimable
    events = {f"{c}[T.{v}]": n for c in covs for v, n in relapses.groupby(pat[c]).sum().items()}
    forest, sparse = disclosure.mask_sparse_terms(forest, events)
    notes += sparse
    ph = res.ph_note
    refs = "; ".join(f"{c.replace('_', ' ')}: {v}" for c, v in categorical.items())
    notes += list(res.warnings)
    method = f"{_fitted(res, n, n - int(pat[N].sum()))} Reference levels — {refs}. {ph}"
    return Published({"forest": forest, "ph_test": res.ph_test}, method, _population(db, f, n), float(n), [*notes, ph])


@population.guard
def milestones(db: Db, f: Filters) -> Published:
    """Share reaching each sobriety milestone, among those followed long enough to reach it."""
    counts = queries.milestone_counts(db, f)
    n = int(counts["n_people"].iloc[0]) if len(counts) else 0
    if (none := _too_few(db, f, n, ["attainment"])) is not None:
        return none
    t = counts.loc[counts["n_observable"] > 0, ["milestone_days", "n_observable", "n_achieved"]].reset_index(drop=True)
    t = t.astype({"n_observable": "int64", "n_achieved": "int64"})
    t = disclosure.suppress_share_ci(t, "n_achieved", "n_observable", "share", count_margins=[])
    method = (
        "Share of participants reaching each sobriety milestone (days from recovery start, else enrollment), "
        f"among those whose follow-up reached the milestone by the data cutoff. {disclosure.methods_sentence()}"
    )
    return Published({"attainment": t}, method, _population(db, f, n), float(n))


def _only_attendees(cells: pd.DataFrame) -> list[str]:
    """A note naming the session formats with no missed session recorded at all (in the synthetic program,
    and often in real ones, workshops: only those who came are written down), whose rates read 100% and 0%."""
    totals = cells.groupby("format")[["n_expected", "n_no_show"]].sum()
    only = sorted(totals.index[(totals["n_expected"] > 0) & (totals["n_no_show"] == 0)])
    if not only:
        return []
    names = " and ".join(only)
    return [
        f"{names[:1].upper()}{names[1:]} sessions show 100% attendance and 0% no-shows because only the people who "
        "came are recorded for them, not those who were expected and stayed away: these rates say nothing about "
        "how many missed one."
    ]


@population.guard
def engagement(db: Db, f: Filters) -> Published:
    """Attendance and no-show rates by week and format, and the dose–response of relapse to attendance."""
    cells = queries.attendance_by_week(db, f)  # n_people adds up over cells: each person sits in one
    people = queries.people(db, f)
    if (none := _too_few(db, f, people, ["weekly", "dose", "dose_cox"])) is not None:
        return none
    w = disclosure.rows_with_enough(cells, "n_people")
    no_show = disclosure.suppress_rate(w, "n_no_show", "n_expected", "no_show_rate", count_margins=[])
    w = disclosure.suppress_rate(w, "n_attended", "n_expected", "attendance_rate", count_margins=[])
    w = w.assign(n_no_show=no_show["n_no_show"], no_show_rate=no_show["no_show_rate"]).drop(columns="n_people")
    dose = queries.week_bands(db, f, "sessions_last_week")
    dose = dose.set_index("sessions_last_week").reindex(["0", "1", "2", "3+"], fill_value=0).reset_index()
    dose = disclosure.suppress_event_rate_ci(dose, "n_relapses", "person_weeks", "relapses_per_100_weeks", "n_people")
    notes = _only_attendees(cells)
    dose_cox = pd.DataFrame(columns=["term", "label", "hr", "hr_lower_95", "hr_upper_95", "p"])
    method = (
        "Attendance rate = attended / expected sessions per week and format; relapses per 100 participant-"
        "weeks by sessions attended the week before."
    )
    if not disclosure.enough(dose["n_relapses"].sum()):  # at any size: rows counted per cell (week_counts)
        notes.append(disclosure.too_few_sentence("relapses in this selection", "so no dose model is fitted"))
    else:
        from peer_outcomes.analysis.dose import fit_time_varying_cox

        rows = queries.week_counts(db, f, ["n_attended_prev_week"]).rename(columns={"n_attended_prev_week": "prev_week_sessions"})
        n_dosed = int(queries.week_bands(db, f, "any_week")["n_people"].sum())
        res = fit_time_varying_cox(rows, None, "start_days", "stop_days", "is_relapse", ["prev_week_sessions"],
                                   weights="n_rows", n_people=n_dosed)
        dose_cox = _finite(res.summary[["term", "label", "hr", "hr_lower_95", "hr_upper_95", "p"]])
        method += f" {_fitted(res, people, reason='for having no weekly attendance rows')}"
        notes += list(res.warnings)
    return Published({"weekly": w, "dose": dose, "dose_cox": dose_cox}, f"{method} {disclosure.methods_sentence()}",
                     _population(db, f, people), float(people), notes)  # fmt: skip


@population.guard
def mentors(db: Db, f: Filters) -> Published:
    """Mentors and matching: caseloads, certification coverage, time to first match, rematches, features.

    Every figure is a sum over the filter's cells (aggregates.match_counts, caseload_counts), never a row per
    participant: the curves by feature are drawn from people per time and event, as the curve pages' are."""
    n = queries.people(db, f)
    names = ["caseloads", "coverage", "time_to_match", "rematches", "by_feature"]
    if (none := _too_few(db, f, n, names)) is not None:
        return none
    loads = queries.mentor_caseloads(db, f)
    bins = pd.cut(loads["n_active"], [-0.5, 0.5, 2.5, 5.5, 10.5, np.inf], labels=["0", "1–2", "3–5", "6–10", "11+"])
    caseloads = disclosure.publish_counts(
        loads["n_mentors"].groupby(bins, observed=False).sum().rename_axis("active_mentees").reset_index(), "n_mentors")
    by_rematches = queries.match_counts(db, f, "rematches", ["level"]).set_index("level")["n_people"]
    ret = queries.match_counts(db, f, "retention").rename(columns={"value": "retention_days", "is_event": "is_disengaged"})
    rel = queries.match_counts(db, f, "relapse").rename(columns={"value": "relapse_days", "is_event": "is_relapse"})
    certified = ret.loc[ret["feature"].eq("mentor_certified") & ret["level"].eq("yes"), N].sum()
    cov = pd.DataFrame({"n_matched": [int(by_rematches.sum())], "n_certified": [int(certified)]})
    coverage = disclosure.suppress_rate(cov, "n_certified", "n_matched", "share_certified", count_margins=[])
    days = queries.match_counts(db, f, "days_to_match", ["value"])
    q = disclosure.counted_quantiles(days["value"], days[N], [0.25, 0.5, 0.75])
    time_to_match = pd.DataFrame({"statistic": ["25th percentile", "median", "75th percentile"], "days": q})
    rematches = disclosure.publish_counts(
        by_rematches.reindex(["0", "1", "2", "3+"], fill_value=0).rename_axis("rematches").rename("n").reset_index(), "n")
    rows, notes = [], []
    for feat in ["mentor_certified", "same_gender", "same_substance"]:
        named = ret[ret["feature"].eq(feat)].rename(columns={"level": feat})  # the note names the feature's code
        sub, dropped = disclosure.drop_small_groups(named, [feat], N)
        sub, notes = sub.rename(columns={feat: "level"}), notes + dropped
        if sub.empty:
            continue
        ret_fit, ret_rows = _coarse_km(sub[["retention_days", "is_disengaged", "level", N]],
                                       "retention_days", "is_disengaged", "level")
        n_level = ret_rows.groupby("level")[N].sum()  # the size the curve is drawn from: a multiple of k
        kept = rel[rel["feature"].eq(feat) & rel["level"].isin(sub["level"])]
        relapse_free = _coarse_km(kept[["relapse_days", "is_relapse", "level", N]], "relapse_days", "is_relapse", "level")
        for (_, a), (_, b) in zip(ret_fit.at([90]).iterrows(), relapse_free[0].at([180]).iterrows(), strict=True):
            row = {"feature": feat, "level": a["group"], "n": n_level[a["group"]]}
            for name, r in (("retained_90", a), ("relapse_free_180", b)):  # each with its KM 95% CI, hidden with it
                row |= {f"{name}{end}": disclosure.estimate(r[c], r["n_at_risk"])
                        for end, c in (("", "survival"), ("_lower_95", "lower_95"), ("_upper_95", "upper_95"))}  # fmt: skip
            rows.append(row)
    by_feature = pd.DataFrame(rows, columns=["feature", "level", "n", *FEATURE_ESTIMATES])
    method = (
        "Caseload = participants in the population with a match open at the data cutoff, per mentor; "
        "certification at the time of the first match; retention at 90 and relapse-free survival at 180 days "
        f"are Kaplan–Meier estimates among matched participants. {disclosure.methods_sentence()}"
    )
    frames = {"caseloads": caseloads, "coverage": coverage, "time_to_match": time_to_match,
              "rematches": rematches, "by_feature": by_feature}  # fmt: skip
    return Published(frames, method, _population(db, f, n), float(n), notes)


@population.guard
def data_quality(db: Db) -> Published:
    """Loads, quarantine by reason and file, freshness and missing optional fields (counts only)."""
    s = queries.settings(db)
    batches = queries.load_batches(db)
    quarantine = queries.quarantine_counts(db)
    missing = queries.missing_fields(db)
    # Missing fields count people, so they are suppressed. Load and quarantine counts are counts of file
    # rows that say nothing about anyone's characteristics; they stay exact so a coordinator can fix the
    # export (the one deliberate exception to small-cell suppression; docs/privacy.md), except the
    # participants file's rows read and loaded, which beside N would size the groups left out.
    batches = disclosure.load_counts(batches)
    missing = disclosure.suppress_rate(missing, "n_missing", "n_total", "share_missing", count_margins=[])
    last_load = pd.to_datetime(batches["finished_at"]).max() if len(batches) else pd.NaT
    freshness = pd.DataFrame({
        "item": ["Data cutoff (as_of)", "Warehouse built", "Last load finished", "Disengagement gap (days)"],
        "value": [data_to(db, Filters()).removeprefix("data to "), f"{pd.Timestamp(s.get('built_at')):%Y-%m-%d %H:%M}",
                  f"{last_load:%Y-%m-%d %H:%M}" if pd.notna(last_load) else "never", str(s.get("gap_days"))],
    })  # fmt: skip
    method = (
        "Counts of rows read, loaded and quarantined per file and load; quarantined rows by file, column and "
        f"reason (values are never shown); participants missing each optional field. {disclosure.counts_sentence()}"
    )
    by_reason = quarantine.groupby("reason", as_index=False)["n_rows"].sum()  # reasons already by kind
    by_reason = by_reason.sort_values("n_rows", ascending=False)
    frames = {"freshness": freshness, "batches": batches, "quarantine": quarantine,
              "quarantine_by_reason": by_reason, "missing": missing}  # fmt: skip
    n = float(missing["n_total"].max()) if len(missing) else np.nan
    return Published(frames, method, f"All loads; data to {pd.Timestamp(s.get('as_of')):%Y-%m-%d}", n)


@population.guard
def participants_served(db: Db, f: Filters) -> Published:
    """Reach: participants enrolled per quarter and site, and attended sessions by format (evidence pack)."""
    enrolled = queries.match_counts(db, f, "enrolled", ["cohort_quarter", "site"]).rename(columns={N: "n_enrolled"})
    n = int(enrolled["n_enrolled"].sum())  # people per cell, summed: no row per participant
    if (none := _too_few(db, f, n, ["enrolled", "sessions"])) is not None:
        return none
    enrolled = disclosure.publish_counts(enrolled, "n_enrolled", margins=[["cohort_quarter"], ["site"]])
    cells = queries.attendance_by_week(db, f)
    sessions = cells.groupby("format", as_index=False)[["n_expected", "n_attended"]].sum()
    sessions = disclosure.suppress_rate(sessions, "n_attended", "n_expected", "attendance_rate")
    method = (
        "Participants enrolled per calendar quarter and site; attended sessions (person-sessions) and "
        f"attendance rate (attended / expected) by session format over the whole period. {disclosure.methods_sentence()}"
    )
    return Published({"enrolled": enrolled, "sessions": sessions}, method, _population(db, f, n), float(n))
