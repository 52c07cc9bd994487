"""The disclosure attack: compute what the dashboard, the CLI's evidence pack and its manifest publish for many
selections of four synthetic programs (26, 60, 300 and 3,000 people), then try what an attacker tries.

Derivations (docs/privacy.md § The attack test): rate x denominator and its complement; share x n; total
minus the shown cells; curve step x at-risk and the change in at-risk; cumulative incidence x group size;
selection A minus selection B for every nested pair of selections (site sets, track sets, periods), over
every published count and every count derived above; the manifest's and the data-quality page's row counts
against the headline N. Left out: hazard ratios and the cohort heatmap, which publish no count and no
group size for a derivation to multiply (their masks are tested in tests/unit/test_disclosure.py).

The attacker knows the published policy and reads precision off the numbers themselves: a table count that
is a multiple of 5 may be rounded (+-2), one that is not is exact; a curve whose every step and every change
in at-risk is 0 or a multiple of k was drawn from counts rounded up to k (each count then within k - 1),
otherwise it is exact; a hidden cell is anything from 0 up. A count is recovered when the published numbers
leave it at most three possible values, all between 1 and k - 1. The test fails on any recovery.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from peer_outcomes.analysis import disclosure, published, queries
from peer_outcomes.analysis.queries import Filters

PROGRAMS = (26, 60, 300, 3000)
MAX_CUTS = 2  # period boundaries tried per program (prefix and suffix selections at each)
ROUND = disclosure.ROUND_COUNTS
KEYS = ("group", "cause", "time", "event_name", "milestone_days", "week_start", "format", "sessions_last_week",
        "active_mentees", "rematches", "feature", "level", "cohort_quarter", "site", "field", "key")  # fmt: skip
# Table counts: rounded to 5 by the policy. Curve counts: drawn from counts rounded up to k.
TABLE_COUNTS = {"n", "n_observable", "n_achieved", "n_expected", "n_attended", "n_no_show", "person_weeks",
                "n_relapses", "n_mentors", "n_matched", "n_certified", "n_enrolled", "n_missing", "n_total"}  # fmt: skip
RATES = {  # frame: (numerator, denominator, rate column, scale)
    "attainment": [("n_achieved", "n_observable", "share", 1)],
    "coverage": [("n_certified", "n_matched", "share_certified", 1)],
    "weekly": [("n_attended", "n_expected", "attendance_rate", 1), ("n_no_show", "n_expected", "no_show_rate", 1)],
    "dose": [("n_relapses", "person_weeks", "relapses_per_100_weeks", 100)],
    "sessions": [("n_attended", "n_expected", "attendance_rate", 1)],
    "missing": [("n_missing", "n_total", "share_missing", 1)],
}


@dataclass(frozen=True)
class Span:
    """What the attacker knows about a count: it lies in [lo, hi]."""

    lo: float
    hi: float

    def __sub__(self, other: Span) -> Span:
        return Span(self.lo - other.hi, self.hi - other.lo)

    def __add__(self, other: Span) -> Span:
        return Span(self.lo + other.lo, self.hi + other.hi)

    def recovers_small(self, k: int) -> bool:
        """At most three possible whole numbers, all between 1 and k - 1."""
        if not math.isfinite(self.hi):
            return False
        lo, hi = math.ceil(max(self.lo, 0) - 1e-6), math.floor(self.hi + 1e-6)
        return lo <= hi and lo >= 1 and hi <= k - 1 and hi - lo <= 2


def exact(v: float) -> Span:
    return Span(float(v), float(v))


def table_count(v: float) -> Span:
    if pd.isna(v):
        return Span(0, math.inf)
    return Span(v - ROUND // 2, v + ROUND // 2) if v % ROUND == 0 else exact(v)


@pytest.fixture(scope="session")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """One warehouse per program size, built once by the real generator and ETL."""
    from peer_outcomes.pipelines.etl import run_etl
    from peer_outcomes.pipelines.synth import generate

    out = {}
    for n in PROGRAMS:
        root = tmp_path_factory.mktemp(f"attack{n}")
        generate(root / "export", participants=n, seed=7 + n)
        run_etl(root / "export", root / "warehouse.duckdb")
        out[n] = root / "warehouse.duckdb"
    return out


def selections(db: Path) -> tuple[dict[str, Filters], list[tuple[str, str]]]:
    """Named selections the dashboard and CLI offer, and the nested pairs (larger, smaller) to subtract.

    To keep the run short: the smallest offered site and track (whose subgroups are the smallest, so the
    likeliest to give a small difference), in and out, and up to MAX_CUTS period boundaries."""
    opts = published.filter_options(db)
    sites, tracks, periods = opts["sites"], opts["tracks"], opts["periods"]
    sizes = queries.group_sizes(db)
    sel = {"all": Filters()}
    pairs = []
    smallest = {}
    for kind, col, values in (("sites", "site", sites), ("tracks", "track", tracks)):
        n = sizes[sizes[col].isin(values)].groupby(col)["n"].sum().sort_values()
        for v in n.index[:1]:
            smallest[kind] = v
            sel[f"{kind}={v}"] = Filters(**{kind: (v,)})
            if len(values) > 1:
                rest = tuple(x for x in values if x != v)
                sel[f"{kind}-{v}"] = Filters(**{kind: rest})
                pairs += [("all", f"{kind}-{v}"), ("all", f"{kind}={v}")]
    if len(smallest) == 2:
        s, t = smallest["sites"], smallest["tracks"]
        sel[f"sites={s},tracks={t}"] = Filters(sites=(s,), tracks=(t,))
        pairs.append((f"sites={s}", f"sites={s},tracks={t}"))
    cuts = periods[1:]
    for p in cuts[:: max(1, math.ceil(len(cuts) / MAX_CUTS))]:
        before, after = f"to {p.start}", f"from {p.start}"
        sel[before] = Filters(enrolled_to=p.start - pd.Timedelta(days=1))
        sel[after] = Filters(enrolled_from=p.start)
        pairs += [("all", before), ("all", after)]
    return sel, pairs


def outputs(db: Path, f: Filters, compare: bool) -> dict[str, published.Published]:
    """Every published result for one selection (the pages' compare-by groupings when `compare`)."""
    pubs = {name: getattr(published, name)(db, f) for name in
            ("headline", "retention", "relapse_free", "competing_risks", "milestones", "engagement", "mentors",
             "participants_served")}  # fmt: skip
    if compare:
        for by in published.GROUPINGS:
            pubs[f"retention by {by}"] = published.retention(db, f, by=by)
            pubs[f"relapse_free by {by}"] = published.relapse_free(db, f, by=by)
    return pubs


def _key(frame: str, row: pd.Series) -> tuple:
    return (frame, *(row[c] for c in KEYS if c in row.index))


def curve_facts(name: str, curve: pd.DataFrame, k: int) -> Iterator[tuple[tuple, Span, str]]:
    """Curve step x at-risk and the change in at-risk, per group; the at-risk itself for differencing."""
    for g, c in curve.groupby("group"):
        n = c["n_at_risk"].to_numpy(float)
        s = c["survival"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            steps = np.r_[n[1:] * (1 - s[1:] / s[:-1]), n[:-1] - n[1:]]
        coarse = np.all([round(x) % k == 0 for x in steps if np.isfinite(x)])
        width = k - 1 if coarse else 0
        for i, x in enumerate(steps):
            if np.isfinite(x) and round(x) != 0:
                yield (name, "step", g, i), Span(x - width, x + width), "curve step x at-risk"
        for t, v in zip(c["time"], n, strict=True):
            yield (name, "at_risk", g, t), Span(v - 2 * width, v + 2 * width), "number at risk"


def facts(pubs: dict[str, published.Published], k: int) -> Iterator[tuple[tuple, Span, str]]:
    """Every published count and every count the derivations give, as (key, span, how)."""
    n = pubs["headline"].n
    if np.isnan(n):
        return
    yield ("N",), exact(n), "population N"
    for name, pub in pubs.items():
        sizes: dict[str, Span] = {"All": exact(n)}
        for fname, fr in pub.frames.items():
            if fr.empty:
                continue
            for _, row in fr.iterrows():
                for col in TABLE_COUNTS & set(row.index):
                    if fname != "summary" and fname != "by_feature":
                        yield (name, *_key(fname, row), col), table_count(row[col]), f"{fname}.{col}"
                for _num, den, rate, scale in RATES.get(fname, []):
                    if pd.notna(row[rate]) and pd.notna(row[den]):
                        x = row[rate] * row[den] / scale
                        derived = table_count(round(x)) if abs(x - round(x)) < 1e-6 else exact(x)
                        yield (name, *_key(fname, row), f"{rate} x {den}"), derived, "rate x denominator"
                        yield (name, *_key(fname, row), f"{den} - {rate} x {den}"), table_count(row[den]) - derived, \
                            "denominator - rate x denominator"
            if fname == "summary":  # group sizes: exact for selections, rounded down to k otherwise
                for _, row in fr.iterrows():
                    sizes[row["group"]] = group_size(row["group"], row["n"], k)
                    yield (name, "summary", row["group"], "n"), sizes[row["group"]], "group size"
            if fname == "curve":
                yield from curve_facts(name, fr, k)
        fr = pub.frames.get("tiles")
        if fr is not None and not fr.empty:  # share x n on the headline tiles
            v = fr.set_index("key")["value"]
            for key in ("retained_90", "relapse_free_180"):
                if pd.notna(v[key]):
                    for share in (v[key], 1 - v[key]):
                        yield ("headline", key, share == v[key]), exact(share * n), "share x N"
            if "matched" in v and pd.notna(v["matched"]):  # among those meant to be matched: its own denominator
                m = fr.set_index("key")["n"]["matched"]
                yield ("headline", "matched", "n"), table_count(m), "matched denominator"
                yield ("headline", "matched", "N - n"), exact(n) - table_count(m), "N - matched denominator"
                x = v["matched"] * m
                derived = table_count(round(x)) if abs(x - round(x)) < 1e-6 else exact(x)
                yield ("headline", "matched", "share x n"), derived, "share x denominator"
                yield ("headline", "matched", "n - share x n"), table_count(m) - derived, "denominator - share x n"
        fr = pub.frames.get("by_feature")
        if fr is not None and not fr.empty:
            for _, row in fr.iterrows():
                size = Span(row["n"], row["n"] + k - 1)
                for col in ("retained_90", "relapse_free_180"):
                    if pd.notna(row[col]):
                        for share in (row[col], 1 - row[col]):
                            yield (name, row["feature"], row["level"], col, share == row[col]), \
                                Span(share * size.lo, share * size.hi), "share x n"
        fr = pub.frames.get("cif")
        if fr is not None and not fr.empty:  # cumulative incidence x group size, and its steps
            for (g, cause), c in fr.groupby(["group", "cause"]):
                size = sizes.get(g)
                if size is None:
                    continue
                x = c["cif"].to_numpy(float)
                for i, d in enumerate(np.r_[x[:1], np.diff(x)]):
                    if d > 0:
                        yield (name, "cif", g, cause, i), Span(x[i] * size.lo, x[i] * size.hi), "CIF x group size"
                        yield (name, "dcif", g, cause, i), Span(d * size.lo, d * size.hi), "CIF step x group size"
    yield from totals(pubs, n, k)


def group_size(group: str, v: float, k: int) -> Span:
    """A group's published size: exact for a selection, possibly rounded down to k when a multiple of k."""
    return Span(v, v + k - 1) if v % k == 0 and group != "All" else exact(v)


def totals(pubs: dict[str, published.Published], n: float, k: int) -> Iterator[tuple[tuple, Span, str]]:
    """Total minus the shown cells, for every table whose cells add up to a published total."""
    everyone = exact(n)
    checks = [("competing_risks", "events", "n", everyone), ("participants_served", "enrolled", "n_enrolled", everyone)]
    cov = pubs["mentors"].frames.get("coverage")
    if cov is not None and not cov.empty:
        checks.append(("mentors", "rematches", "n", table_count(cov["n_matched"].iloc[0])))
    for by in published.GROUPINGS:
        if f"retention by {by}" in pubs:
            checks.append((f"retention by {by}", "summary", "n", everyone))
    for name, fname, col, total in checks:
        fr = pubs[name].frames.get(fname)
        if fr is None or fr.empty:
            continue
        shown = Span(0, 0)
        for g, v in zip(fr.iloc[:, 0], fr[col], strict=True):
            if pd.notna(v):
                shown = shown + (group_size(g, v, k) if fname == "summary" else table_count(v))
        yield (name, fname, "rest"), total - shown, "total - shown cells"
    ev = pubs["competing_risks"].frames.get("events")
    if ev is not None and not ev.empty:  # each outcome's column and each group's row
        for keys in ("event_name", "group"):
            for v, part in ev.groupby(keys):
                if part["n"].isna().sum() == 1 and len(part) > 1:
                    rest = Span(0, 0)
                    for x in part["n"].dropna():
                        rest = rest + table_count(x)
                    yield ("competing_risks", "events", keys, v), rest, "margin with one hidden cell"


def manifest_facts(db: Path, n: float) -> Iterator[tuple[tuple, Span, str]]:
    """The evidence manifest's and the data-quality page's row counts against the headline N."""
    from peer_outcomes.dashboard.evidence import data_version

    def ints(obj: object, path: str) -> Iterator[tuple[str, float]]:
        if isinstance(obj, dict):
            for key, v in obj.items():
                yield from ints(v, f"{path}.{key}")
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                yield from ints(v, f"{path}[{i}]")
        elif isinstance(obj, int | float) and not isinstance(obj, bool) and "rows" in path.split(".")[-1]:
            yield path, obj

    manifest = data_version(db)
    people = [b for b in manifest.get("load_batches", []) if b.get("entity") == "participants"]
    for path, v in [*ints(manifest, "manifest"), *ints(people, "manifest.participants")]:
        yield ("manifest", path), exact(v) - exact(n), "manifest - headline N"
    batches = published.data_quality(db).frames["batches"]
    people = batches[batches["entity"] == "participants"]
    for col in ("rows_read", "rows_loaded"):
        for v in people[col].dropna():
            yield ("data quality", col, v), exact(v) - exact(n), "data-quality rows - headline N"


def run_attack(
    sel: dict[str, Filters],
    pairs: list[tuple[str, str]],
    outputs_of: Callable[[str, Filters], dict],
    k: int,
    also: Callable[[str, dict], list[str]] = lambda name, pubs: [],
) -> list[str]:
    """Every recovery from the outputs of each selection alone (and `also` of them), then from each pair's
    difference, as readable lines."""
    known: dict[str, dict] = {}
    found = []
    for name, f in sel.items():
        pubs = outputs_of(name, f)
        known[name] = {}
        for key, span, how in facts(pubs, k):
            known[name][key] = span
            if span.recovers_small(k):
                found.append(f"{name}: {how} {key} -> {span}")
        found += also(name, pubs)
    for a, b in pairs:
        for key in known[a].keys() & known[b].keys():
            span = known[a][key] - known[b][key]
            if span.recovers_small(k):
                found.append(f"{a} minus {b}: {key} -> {span}")
    return found


def attack(db: Path, k: int) -> list[str]:
    """Every recovery found in one program, as readable lines: its selections, their differences, the manifest."""
    sel, pairs = selections(db)

    def manifest(name: str, pubs: dict) -> list[str]:
        facts = manifest_facts(db, pubs["headline"].n) if name == "all" else []
        return [f"{how} {key} -> {span}" for key, span, how in facts if span.recovers_small(k)]

    def outputs_of(name: str, f: Filters) -> dict:
        return outputs(db, f, compare=name == "all" or name.startswith(("sites-", "tracks-")))

    return run_attack(sel, pairs, outputs_of, k, manifest)


@pytest.mark.parametrize("size", PROGRAMS)
def test_no_published_number_can_be_worked_back_to_fewer_than_11_people(programs, size):
    found = attack(programs[size], disclosure.threshold())
    assert not found, f"{len(found)} recoveries, e.g.\n" + "\n".join(found[:15])


def test_the_attacker_finds_a_small_count_when_one_is_published():
    """The attack's own yardstick: exact small differences and a lone hidden cell are caught, rounded ones not."""
    assert (exact(20) - exact(13)).recovers_small(11)
    assert not (table_count(20) - table_count(15)).recovers_small(11), "rounded: anything from 1 to 9"
    assert not (exact(30) - exact(19)).recovers_small(11)
    assert Span(6.5, 8.4).recovers_small(11)
