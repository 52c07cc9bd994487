"""Named read-only queries over the outcome marts, with the dashboard's filters applied in SQL.

Each query opens the warehouse read-only through `pipelines.warehouse.query` (a connection per call,
closed at once) and returns rows for the published layer, which aggregates and suppresses them. Filter
values travel as query parameters, never interpolated into SQL text. Outcome definitions live only in the
marts (pipelines/sql/marts/); nothing here re-derives one.
"""

from __future__ import annotations

import copy
import functools
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import yaml

from peer_outcomes.pipelines import warehouse
from peer_outcomes.pipelines.config import min_cell
from peer_outcomes.pipelines.warehouse import connect_readonly, query

Db = str | os.PathLike[str]
T = TypeVar("T")


def load_stamp(db: Db) -> tuple:
    """Which load of the warehouse file `db` is: its path, inode, modification time and size.

    The ETL never writes the live file; it swaps a new one in (`os.replace`), so every load gives a new
    stamp, and reading it costs a `stat`, not a connection. Raises OSError when there is no file.
    """
    s = os.stat(db)
    return (str(Path(db).resolve()), s.st_ino, s.st_mtime_ns, s.st_size)


def per_load(func: Callable[..., T]) -> Callable[..., T]:
    """Memoize a small lookup of the whole warehouse per load (`load_stamp`), threshold k and arguments
    (a role's `allowed_sites` and `allowed_programs`).

    Every published result asks for the settings, the enrollment periods and the small cells; each asked
    once per load instead of once per result saves a connection and a scan each time. Callers get a copy.
    A missing or unreadable warehouse is never cached: the lookup runs and raises its plain sentence.
    """
    memo: dict[tuple, T] = {}
    lock = threading.Lock()

    @functools.wraps(func)
    def wrapper(db: Db, *args: object) -> T:
        try:
            key = (load_stamp(db), min_cell(), args)
        except OSError:
            return func(db, *args)
        with lock:
            if key in memo:
                return copy.deepcopy(memo[key])
        value = func(db, *args)
        with lock:
            if len(memo) >= 16:  # old loads and thresholds: a handful at most, never grown without bound
                memo.clear()
            memo[key] = value
        return copy.deepcopy(value)

    return wrapper

# Program x site x track cells with fewer than k participants in the whole warehouse. Every filtered query
# leaves their people out (docs/privacy.md, "Selections and differencing"): any choice of programs, sites
# and tracks is then a union of whole cells of at least k people, so the difference between two choices
# (a program and all programs, program A and B) never describes fewer than k. A program, site or track
# smaller than k is a set of such cells. (One program: the cells are its site x track cells, as before.)
SMALL_CELLS = (
    "select program, site, coalesce(program_track, 'none') as track from marts.participant_outcomes "
    "group by all having count(*) < ?"
)


@dataclass(frozen=True)
class Filters:
    """The population a page describes: enrollment period, sites, tracks and programs (empty = all).

    The base population is everyone outside the small site x track cells (`SMALL_CELLS`);
    `all_groups=True` keeps them (notebooks on the warehouse tier only, never anything published).
    `allowed_sites` and `allowed_programs` are the signed-in role's reach (dashboard.auth; empty = every site,
    every program): applied in every query beside `sites` and `programs`, never taken from or written to a URL.
    """

    enrolled_from: date | None = None
    enrolled_to: date | None = None
    sites: tuple[str, ...] = field(default_factory=tuple)
    tracks: tuple[str, ...] = field(default_factory=tuple)
    all_groups: bool = False
    allowed_sites: tuple[str, ...] = field(default_factory=tuple)
    programs: tuple[str, ...] = field(default_factory=tuple)  # program codes (etl --program)
    allowed_programs: tuple[str, ...] = field(default_factory=tuple)

    def to_query_params(self) -> dict[str, str | list[str]]:
        """URL query parameters that reproduce this view (dates ISO, lists repeated)."""
        out: dict[str, str | list[str]] = {}
        if self.enrolled_from:
            out["from"] = self.enrolled_from.isoformat()
        if self.enrolled_to:
            out["to"] = self.enrolled_to.isoformat()
        if self.sites:
            out["site"] = list(self.sites)
        if self.tracks:
            out["track"] = list(self.tracks)
        if self.programs:
            out["program"] = list(self.programs)
        return out

    @classmethod
    def from_query_params(cls, params: Mapping[str, str | list[str]]) -> Filters:
        """Read filters back from URL query parameters; a malformed date is ignored, not fatal."""

        def listed(key: str) -> tuple[str, ...]:
            v = params.get(key, [])
            return tuple(sorted({v} if isinstance(v, str) else set(v)))

        def day(key: str) -> date | None:
            v = params.get(key)
            v = v[-1] if isinstance(v, list) and v else v
            try:
                return date.fromisoformat(v) if isinstance(v, str) else None
            except ValueError:
                return None

        return cls(day("from"), day("to"), listed("site"), listed("track"), programs=listed("program"))

    def where(self, date_col: str = "enrolled_on", prefix: str = "", small: list | None = None) -> tuple[str, list]:
        """A SQL `where` clause and its parameters. `date_col` = cohort_month for monthly marts. `small`: the
        small cells' [program, site, track] when the caller has them (`small_cell_keys`), so the query need not
        count the whole mart again to find them."""
        clauses, params = ["true"], []
        if self.enrolled_from:
            lo = self.enrolled_from.replace(day=1) if date_col == "cohort_month" else self.enrolled_from
            clauses.append(f"{prefix}{date_col} >= ?")
            params.append(lo)
        if self.enrolled_to:
            clauses.append(f"{prefix}{date_col} <= ?")
            params.append(self.enrolled_to)
        if self.sites:
            clauses.append(f"list_contains(?::varchar[], {prefix}site)")
            params.append(list(self.sites))
        if self.allowed_sites:
            clauses.append(f"list_contains(?::varchar[], {prefix}site)")
            params.append(list(self.allowed_sites))
        if self.tracks:
            clauses.append(f"list_contains(?::varchar[], coalesce({prefix}program_track, 'none'))")
            params.append(list(self.tracks))
        if self.programs:
            clauses.append(f"list_contains(?::varchar[], {prefix}program)")
            params.append(list(self.programs))
        if self.allowed_programs:
            clauses.append(f"list_contains(?::varchar[], {prefix}program)")
            params.append(list(self.allowed_programs))
        if not self.all_groups and small is not None:
            clauses.append(f"not list_contains(?::varchar[][], [{prefix}program, {prefix}site, "
                           f"coalesce({prefix}program_track, 'none')])")
            params.append(small)
        elif not self.all_groups:
            clauses.append(
                f"[{prefix}program, {prefix}site, coalesce({prefix}program_track, 'none')] not in "
                f"(select [program, site, track] from ({SMALL_CELLS}))"
            )
            params.append(min_cell())
        return " and ".join(clauses), params

    def describe(self) -> str:
        """Plain words for titles: 'enrolled 2024-01-01 to 2024-12-31, sites a, b'."""
        parts = []
        if self.enrolled_from or self.enrolled_to:
            lo = self.enrolled_from.isoformat() if self.enrolled_from else "start"
            hi = self.enrolled_to.isoformat() if self.enrolled_to else "cutoff"
            parts.append(f"enrolled {lo} to {hi}")
        if self.sites:
            parts.append("sites " + ", ".join(self.sites))
        if self.tracks:
            parts.append("tracks " + ", ".join(self.tracks))
        if self.programs:
            parts.append(("program " if len(self.programs) == 1 else "programs ") + ", ".join(self.programs))
        return "; ".join(parts) or "all participants"


def _marts(db: Db, relation: str, f: Filters, columns: str = "*", date_col: str = "enrolled_on") -> pd.DataFrame:
    where, params = f.where(date_col)
    return query(db, f"select {columns} from {relation} where {where}", params)


def _reach(allowed_sites: tuple[str, ...], allowed_programs: tuple[str, ...] = ()) -> tuple[str, list]:
    """The `where` clause keeping only a role's sites within its programs (everyone when empty), small cells
    included."""
    return Filters(all_groups=True, allowed_sites=allowed_sites, allowed_programs=allowed_programs).where()


@functools.cache
def mart_definitions() -> dict[str, str]:
    """Each mart's one-line definition, from the mart spec (pipelines/sql/marts/marts.yml), by short name.

    Read as package data, not through `pipelines.marts`: the spec is the one place a definition is written,
    and the analysis layer may not import the pipeline's builders (docs/architecture.md). Parsed once a
    process (the spec ships with the code), by libyaml when present: the pack's methods ask for it often.
    """
    spec = yaml.load(  # a safe loader, C or Python
        (files("peer_outcomes.pipelines") / "sql" / "marts" / "marts.yml").read_text(encoding="utf-8"),
        Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader),
    )
    return {m["name"].removeprefix("marts."): " ".join(str(m.get("description", "")).split()) for m in spec["marts"]}


@per_load
def data_version(db: Db) -> str:
    """The warehouse's data version (`pipelines.warehouse.data_version`), read once per load."""
    return warehouse.data_version(db)


@per_load
def settings(db: Db) -> dict:
    """The load's data cutoff, disengagement gap and build time."""
    df = query(db, "select as_of, gap_days, built_at, data_version from settings")
    return df.iloc[0].to_dict() if len(df) else {}


def filter_options(db: Db, allowed_sites: tuple[str, ...] = (), allowed_programs: tuple[str, ...] = ()) -> dict:
    """Sites, tracks, programs and the enrollment range of the `allowed_sites` within the `allowed_programs`
    (all when empty)."""
    where, params = _reach(allowed_sites, allowed_programs)
    df = query(
        db,
        "select list(distinct site order by site) as sites, "
        "list(distinct coalesce(program_track, 'none') order by coalesce(program_track, 'none')) as tracks, "
        "list(distinct program order by program) as programs, "
        f"min(enrolled_on) as first_on, max(enrolled_on) as last_on from marts.participant_outcomes where {where}",
        params,
    )
    row = df.iloc[0]
    return {"sites": list(row.sites), "tracks": list(row.tracks), "programs": list(row.programs),
            "first_on": row.first_on, "last_on": row.last_on}  # fmt: skip


@per_load
def programs(db: Db) -> pd.DataFrame:
    """Every program loaded: its code, its name (mapping.yaml program_name, else the code), its cutoff and the
    disengagement gap it was loaded with."""
    return query(
        db, "select program, coalesce(program_name, program) as name, as_of, gap_days from programs order by program"
    )


@per_load
def group_sizes(db: Db, allowed_sites: tuple[str, ...] = (), allowed_programs: tuple[str, ...] = ()) -> pd.DataFrame:
    """Participants per program, site and track of the `allowed_sites` (all when empty), for deciding which
    choices the sidebar may offer."""
    where, params = _reach(allowed_sites, allowed_programs)
    return query(
        db,
        "select program, site, coalesce(program_track, 'none') as track, count(*) as n "
        f"from marts.participant_outcomes where {where} group by all",
        params,
    )


@per_load
def small_cells(db: Db, allowed_sites: tuple[str, ...] = (), allowed_programs: tuple[str, ...] = ()) -> pd.DataFrame:
    """The program x site x track cells left out of every filtered query, with whether the whole program, site
    (of its program) or track is small, among the `allowed_sites` (all when empty; a track's size counts only
    those sites' people).

    Columns: program, site, track, program_small, site_small, track_small (no counts: under k by definition).
    """
    where, params = _reach(allowed_sites, allowed_programs)
    sql = f"""
        with sizes as (select program, site, coalesce(program_track, 'none') as track, count(*) as n
                       from marts.participant_outcomes where {where} group by all)
        select c.program, c.site, c.track,
               (select sum(n) from sizes s where s.program = c.program) < ? as program_small,
               (select sum(n) from sizes s where s.program = c.program and s.site = c.site) < ? as site_small,
               (select sum(n) from sizes s where s.track = c.track) < ? as track_small
        from ({SMALL_CELLS}) c
        where exists (select 1 from sizes s where s.program = c.program and s.site = c.site) order by 1, 2, 3"""
    return query(db, sql, [*params, min_cell(), min_cell(), min_cell(), min_cell()])


@per_load
def cell_months(db: Db, allowed_sites: tuple[str, ...] = (), allowed_programs: tuple[str, ...] = ()) -> pd.DataFrame:
    """Enrollments per site, track and month in the base population of `allowed_sites` (all when empty), for
    analysis.population; never published."""
    where, params = Filters(allowed_sites=allowed_sites, allowed_programs=allowed_programs).where()
    sql = (
        "select program, site, coalesce(program_track, 'none') as track, cohort_month as month, count(*) as n "
        f"from marts.participant_outcomes where {where} group by all order by month"
    )
    return query(db, sql, params)


def outcomes(db: Db, f: Filters, columns: Sequence[str] = ()) -> pd.DataFrame:
    """marts.participant_outcomes for the filtered population: one row per participant.

    `columns` names the ones a result needs (all when empty): at 100,000 participants, fetching 6 of the
    36 columns takes a fifth of the time (benchmarks/bench_browser.py).
    """
    return _marts(db, "marts.participant_outcomes", f, ", ".join(f'"{c}"' for c in columns) or "*")


def counts(db: Db, f: Filters, columns: Sequence[str], relation: str = "marts.participant_outcomes") -> pd.DataFrame:
    """People per combination of `columns` (e.g. time, event and a compare-by) in the filtered population,
    as `n_people`: the sufficient statistics of Kaplan–Meier, Aalen–Johansen and categorical Cox models.

    Counted in DuckDB, so a page fetches a few thousand count rows instead of a row per participant (100,000
    rows at a state's size, millions when programs are pooled). Kept per load (`per_load`): the Overview
    tiles count the same people per time and event as the retention and relapse-free curves, a scan of
    every participant each (about a second at 10 million), done once for all of them.
    """
    return _counts(db, f, tuple(columns), relation)


@per_load
def _counts(db: Db, f: Filters, columns: tuple[str, ...], relation: str) -> pd.DataFrame:
    cols = ", ".join(f'"{c}"' for c in columns)
    where, params = f.where(small=small_cell_keys(db))
    return query(db, f"select {cols}, count(*) as n_people from {relation} where {where} group by all", params)


def pattern_counts(
    db: Db, f: Filters, time: str, event: str, covariates: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`counts` of (time, event, *covariates) split in two: the distinct covariate patterns (one row each, their
    values; NULL stays missing) and, per pattern, time and event, `n_people` (columns `pattern`, the pattern's
    row number, time, event, n_people: integers only).

    What a Cox model on categorical covariates needs (analysis.efron.RiskTable). The count rows grow with
    patterns × days (430,000 at 10 million people) while the patterns stay few (1,600), so each pattern's
    rows come back as lists through Arrow: no covariate text is made per count row, and every grouping,
    reference level and small-group check runs on the patterns.
    """
    covs = ", ".join(f'"{c}"' for c in covariates)
    where, params = f.where(small=small_cell_keys(db))
    sql = f"""
        select {covs}, list("{time}" order by "{time}", "{event}") as t, list("{event}" order by "{time}", "{event}") as e,
               list(n_people order by "{time}", "{event}") as n
        from (select {covs}, "{time}", "{event}", count(*) as n_people
              from marts.participant_outcomes where {where} group by all)
        group by all order by all"""
    with connect_readonly(db) as con:
        table = con.sql(sql, params=params).to_arrow_table()
    patterns = table.select(list(covariates)).to_pandas()
    lists = {c: table.column(c).combine_chunks() for c in ("t", "e", "n")}
    rows = pd.DataFrame({
        "pattern": np.repeat(np.arange(len(patterns)), lists["t"].value_lengths().to_numpy(zero_copy_only=False)),
        time: lists["t"].flatten().to_numpy(zero_copy_only=False),
        event: lists["e"].flatten().to_numpy(zero_copy_only=False),
        "n_people": lists["n"].flatten().to_numpy(zero_copy_only=False),
    })  # fmt: skip
    return patterns, rows


@per_load
def small_cell_keys(db: Db) -> list[list[str]]:
    """[program, site, track] of each small cell (`SMALL_CELLS`), read once per load and threshold: at a million
    participants, finding them again in every query cost about 0.1 s each."""
    return [list(r) for r in query(db, SMALL_CELLS, [min_cell()]).itertuples(index=False)]


def mean(db: Db, f: Filters, column: str) -> tuple[float, int]:
    """The mean of a participant_outcomes column over the filtered people who have a value, and how many do."""
    where, params = f.where(small=small_cell_keys(db))
    row = query(db, f'select avg("{column}") as m, count("{column}") as n from marts.participant_outcomes where {where}', params)
    return float(row["m"].iloc[0]) if row["n"].iloc[0] else float("nan"), int(row["n"].iloc[0])


def competing(db: Db, f: Filters) -> pd.DataFrame:
    """marts.competing: first of relapse, dropout and completion per participant."""
    return _marts(db, "marts.competing", f)


def milestones(db: Db, f: Filters) -> pd.DataFrame:
    """marts.milestones: one row per participant and milestone."""
    return _marts(db, "marts.milestones", f)


def milestone_counts(db: Db, f: Filters) -> pd.DataFrame:
    """Per milestone in marts.milestones: `n_observable` and `n_achieved` among them, with `n_people`, the
    participants in the selection (the same on every row; no rows when the selection has no one).

    Counted in SQL: the mart has a row per participant and milestone (half a million at 100,000 people),
    and fetching them to count in pandas took over a second. The people are counted without a
    count(distinct): a participant has a row for each milestone of their program, all in or all out of a
    selection, so a program's people are its rows at any one milestone (at 10 million people the distinct
    count of 50 million keys took most of the page's query time).
    """
    where, params = f.where(small=small_cell_keys(db))
    sql = f"""
        with m as (select program, milestone_days, count(*) as n_rows,
                          count(*) filter (where is_observable = 1) as n_observable,
                          sum(is_achieved) filter (where is_observable = 1) as n_achieved
                   from marts.milestones where {where} group by all)
        select milestone_days, sum(n_observable)::bigint as n_observable,
               coalesce(sum(n_achieved), 0)::double as n_achieved,
               (select sum(n)::bigint from (select max(n_rows) as n from m group by program)) as n_people
        from m group by milestone_days order by milestone_days"""
    return query(db, sql, params)


def dose_weekly(db: Db, f: Filters) -> pd.DataFrame:
    """marts.dose_weekly counting-process rows for the filtered participants, with their site and track."""
    where, params = f.where(prefix="p.")
    sql = (
        "select d.*, p.site, p.program_track from marts.dose_weekly d "
        f"join marts.participant_outcomes p using (participant_key) where {where}"
    )
    return query(db, sql, params)


DOSE_BANDS = ("0", "1", "2", "3+")  # sessions attended the week before


def dose_rows(db: Db, f: Filters) -> pd.DataFrame:
    """The dose model's counting-process rows of marts.dose_weekly for the filtered participants, ordered by
    participant and week, with `prev_week_sessions`: sessions attended in the participant's previous row (0
    for the first week), so the dose precedes the week it predicts (docs/outcomes.md § dose_weekly).

    Only the columns the model and `dose_bands` use are fetched, and the lag is taken in numpy after one
    sort of the keys: at 100,000 participants (1.4 M rows) SQL's `lag() over (partition by ...)` and
    `order by` cost three times the plain fetch.
    """
    where, params = f.where(prefix="p.")
    sql = f"""
        select d.participant_key, d.week, d.start_days, d.stop_days, d.is_relapse, d.n_attended
        from marts.dose_weekly d join marts.participant_outcomes p using (participant_key)
        where {where}"""
    rows = query(db, sql, params)
    key, week = rows["participant_key"].to_numpy(np.int64), rows["week"].to_numpy(np.int64)
    code = key * (int(week.max()) + 1 if len(week) else 1) + week  # (participant, week) as one number
    if not np.all(code[1:] > code[:-1]):  # the scan comes back almost in order: a stable sort is near O(n)
        order = np.argsort(code, kind="stable")
        rows, key = rows.take(order).reset_index(drop=True), key[order]
    attended = np.nan_to_num(rows["n_attended"].to_numpy(float), nan=0.0)  # as coalesce(lag(...), 0)
    prev = np.r_[0.0, attended[:-1]] if len(rows) else attended
    prev[np.r_[True, key[1:] != key[:-1]] if len(rows) else []] = 0.0  # a participant's first week
    return rows.drop(columns="n_attended").assign(prev_week_sessions=prev)


def dose_bands(rows: pd.DataFrame) -> pd.DataFrame:
    """Person-weeks, relapses and people by sessions attended the week before (0, 1, 2, 3+), from `dose_rows`
    (counted in numpy: 1.4 M rows at 100,000 participants)."""
    band = np.minimum(rows["prev_week_sessions"].to_numpy(), 3).astype(np.int64)
    keys = rows["participant_key"].to_numpy(np.int64)
    keys = keys - keys.min() if len(keys) else keys
    seen = np.zeros((int(keys.max()) + 1 if len(keys) else 0, 4), dtype=bool)
    seen[keys, band] = True  # a person counts once in each band they have a week in
    present = np.flatnonzero(np.bincount(band, minlength=4))
    return pd.DataFrame({
        "sessions_last_week": [DOSE_BANDS[i] for i in present],
        "person_weeks": np.bincount(band, minlength=4)[present],
        "n_relapses": np.bincount(band, weights=rows["is_relapse"].to_numpy(float), minlength=4)[present].astype(np.int64),
        "n_people": seen.sum(axis=0)[present],
    })  # fmt: skip


def week_counts(db: Db, f: Filters, covariates: Sequence[str], matched_only: bool = False) -> pd.DataFrame:
    """The counting-process rows of marts.check_in_weekly for the filtered cells (of matched participants
    only, when asked), as distinct (start_days, stop_days, is_relapse, *covariates) rows with `n_rows`, how
    many participant-weeks each stands for (aggregates.week_counts).

    A filter is a union of whole cells, so its rows are a sum over the cells: at 100,000 participants about
    100,000 rows where the participant-weeks are 1.4 million, and the Cox fit weighted by `n_rows` equals
    the fit on the participant-weeks (analysis.dose).
    """
    where, params = f.where("cohort_month", small=small_cell_keys(db))
    cols = ", ".join(["start_days", "stop_days", "is_relapse", *covariates])
    matched = " and is_matched = 1" if matched_only else ""
    sql = (f"select {cols}, sum(n_rows)::bigint as n_rows from aggregates.week_counts where {where}{matched} "
           "group by all order by all")  # fmt: skip
    return query(db, sql, params)


def week_bands(db: Db, f: Filters, measure: str, matched_only: bool = False) -> pd.DataFrame:
    """Participant-weeks, relapses and people of the filtered cells by band of `measure` (aggregates.week_bands:
    'sessions_last_week' 0, 1, 2, 3+; 'check_ins_last_week' 0, 1, 2+; 'any_week' any), bands present only.
    A participant sits in one cell, so the cells' people add up."""
    where, params = f.where("cohort_month", small=small_cell_keys(db))
    matched = " and is_matched = 1" if matched_only else ""
    sql = (f"select band as {measure}, sum(person_weeks)::bigint as person_weeks, sum(n_relapses)::bigint as n_relapses, "
           f"sum(n_people)::bigint as n_people from aggregates.week_bands where measure = ? and {where}{matched} "
           "group by 1 order by 1")  # fmt: skip
    return query(db, sql, [measure, *params])


def attendance_by_week(db: Db, f: Filters) -> pd.DataFrame:
    """marts.attendance_weekly summed over the filtered cells per week and format (expected, attended, no-show,
    people): a participant sits in one cell, so people add up. Summed in DuckDB, where fetching every cell
    row to sum in pandas took half a second at 100,000 participants."""
    where, params = f.where("cohort_month", small=small_cell_keys(db))
    sql = ("select week_start, format, sum(n_expected)::bigint as n_expected, sum(n_attended)::bigint as n_attended, "
           "sum(n_no_show)::bigint as n_no_show, sum(n_people)::bigint as n_people "
           f"from marts.attendance_weekly where {where} group by all order by week_start, format")  # fmt: skip
    return query(db, sql, params)


def attendance_weekly(db: Db, f: Filters) -> pd.DataFrame:
    """marts.attendance_weekly cells for the filtered sites, tracks and enrollment months."""
    return _marts(db, "marts.attendance_weekly", f, date_col="cohort_month")


def people(db: Db, f: Filters) -> int:
    """How many participants the filters select: the cells' people summed (aggregates.match_counts, measure
    'enrolled'), not a row fetched per participant (10 million when programs are pooled)."""
    where, params = f.where("cohort_month", small=small_cell_keys(db))
    sql = f"select sum(n_people)::bigint as n from aggregates.match_counts where measure = 'enrolled' and {where}"
    n = query(db, sql, params)["n"].iloc[0]
    return 0 if pd.isna(n) else int(n)


def match_counts(db: Db, f: Filters, measure: str, by: Sequence[str] = ("feature", "level", "value", "is_event")) -> pd.DataFrame:
    """People of the filtered cells per `by` of one `measure` of aggregates.match_counts ('enrolled',
    'rematches', 'days_to_match', 'retention', 'relapse'), as `n_people`: the Mentors & matching page's counts
    and the Kaplan–Meier sufficient statistics of its outcomes by match feature. A participant sits in one
    cell, so the cells' counts add up."""
    where, params = f.where("cohort_month", small=small_cell_keys(db))
    cols = ", ".join(by)
    sql = (f"select {cols}, sum(n_people)::bigint as n_people from aggregates.match_counts where measure = ? and {where} "
           f"group by {cols} order by {cols}")  # fmt: skip
    return query(db, sql, [measure, *params])


def mentor_caseloads(db: Db, f: Filters) -> pd.DataFrame:
    """Mentors by active caseload: `n_mentors` per `n_active`, the filtered participants whose match with the
    mentor is open at the cutoff, among mentors matched with any of them (aggregates.caseload_counts: a
    mentor's caseload in a union of cells is the sum of the cells', so a filter is a sum, not a join of every
    match with every participant)."""
    where, params = f.where("cohort_month", small=small_cell_keys(db))
    sql = f"""
        select n_active, count(*) as n_mentors
        from (select mentor_key, sum(n_active)::bigint as n_active from aggregates.caseload_counts where {where}
              group by mentor_key)
        group by n_active order by n_active"""
    return query(db, sql, params)


def load_batches(db: Db) -> pd.DataFrame:
    """Lineage: one row per entity per load (file names and counts only)."""
    return query(
        db,
        "select batch_id, entity, file_name, rows_read, rows_loaded, rows_quarantined, status, "
        "started_at, finished_at from load_batches order by started_at desc, entity",
    )


def quarantine_counts(db: Db) -> pd.DataFrame:
    """Quarantined rows counted by file, column and reason (never the values)."""
    return query(
        db,
        "select entity, file_name, coalesce(column_name, '(row)') as column_name, reason_kind as reason, "
        "count(*) as n_rows from quarantine_kinds group by all order by n_rows desc",
    )


def missing_fields(db: Db) -> pd.DataFrame:
    """How many participants lack each optional contract field (counts only), in the base population.

    People of small site x track cells are left out here as everywhere: a total over everyone would give
    their number away by difference with any published N.
    """
    cols = [
        "program_track", "age_at_enrollment", "gender", "race_ethnicity", "primary_substance",
        "referral_source", "recovery_start_on", "prior_treatment_episodes", "housing_at_intake",
        "employed_at_intake",
    ]  # fmt: skip
    select = ", ".join(f"count(*) filter (where {c} is null) as {c}" for c in cols)
    where, params = Filters().where(prefix="p.")
    sql = (
        f"select count(*) as n, {select} from participants "
        f"where participant_key in (select participant_key from marts.participant_outcomes p where {where})"
    )
    with connect_readonly(db) as con:
        row = con.execute(sql, params).df().iloc[0]
    return pd.DataFrame({"field": cols, "n_missing": [int(row[c]) for c in cols], "n_total": int(row["n"])})
