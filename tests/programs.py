"""Test programs of every size and shape a small peer-mentoring program may have (issue 12.1).

A `size_<n>` program has everyone at one site in one track, so 11 people is exactly the threshold; `sites_60`
is a realistic 60-person program spread over sites and tracks (`sites_60_no_practice` the same without the
mentoring-practice files); the other shapes reshape a larger synthetic
program: one site, one enrollment month, one track, no matches, no relapses. All synthetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from peer_outcomes.pipelines.synth import generate

SEED = 11


PROGRAM_SIZES = (0, 1, 5, 10, 11, 26, 60)
PROGRAM_SHAPES = ("sites_60", "one_site", "one_month", "one_track", "no_matches", "no_relapses")
PROGRAMS = (*(f"size_{n}" for n in PROGRAM_SIZES), *PROGRAM_SHAPES)
PRACTICE_FILES = ("goals", "check_ins", "referrals", "mentor_activity", "incidents")


def write_program(name: str, out: Path) -> None:
    """Write the export of test program `name` (see PROGRAMS) into `out`, through the synthetic generator."""
    if name == "sites_60_no_practice":  # sites_60 exported by a system without the mentoring-practice files
        write_program("sites_60", out)
        for entity in PRACTICE_FILES:
            (out / f"{entity}.csv").unlink()
        return
    kind, _, size = name.partition("_")
    n = int(size) if kind in ("size", "sites") else 1000 if name == "one_month" else 200
    generate(out, participants=max(n, 1), seed=SEED)
    files = {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in out.glob("*.csv")}
    people = files["participants"]
    if kind == "size" and n == 0:
        files = {k: f.iloc[:0] for k, f in files.items()}  # header-only files: a program not started yet
    elif kind == "size" or name == "one_site":
        for entity in ("participants", "sessions", "mentors"):
            files[entity]["site"] = "north"
    if kind == "size" or name == "one_track":
        people["program_track"] = "peer_mentoring"
    if name == "one_month":  # the busiest enrollment month of a larger program, with everything they did
        month = people["enrolled_on"].str[:7]
        keep = set(people.loc[month == month.value_counts().idxmax(), "participant_id"])
        for entity, frame in files.items():
            if "participant_id" in frame:
                files[entity] = frame[frame["participant_id"].isin(keep)]
    if name == "no_matches":
        files["matches"] = files["matches"].iloc[:0]
    if name == "no_relapses":
        use = files["substance_use"]
        files["substance_use"] = use[use["kind"] != "relapse"]
    for entity, frame in files.items():
        frame.to_csv(out / f"{entity}.csv", index=False)


# Two programs in one warehouse (issue 17): a small program A (12 people, all at site north in one track, so
# just big enough to be published on its own) and a larger B (300, also with a site north), sharing one raw
# participant id; B is loaded, then reloaded with corrections. Snapshots of the warehouse after each step.
A_PEOPLE, B_PEOPLE = 12, 300
B_AS_OF = "2026-09-30"  # B's own cutoff, later than A's (the latest date of A's export)


@dataclass(frozen=True)
class TwoPrograms:
    exports: dict[str, Path]  # "a", "b", "b2" (B corrected)
    a_only: Path  # the warehouse after loading A
    after_b: Path  # ... and then B
    final: Path  # ... and then B corrected: the warehouse the tests read
    shared_id: str  # a raw participant id both programs use for different people


def _replace_id(export: Path, old: str, new: str) -> None:
    for path in export.glob("*.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        cols = [c for c in ("participant_id", "former_participant_id") if c in frame]
        if cols:
            frame[cols] = frame[cols].replace(old, new)
            frame.to_csv(path, index=False)


def write_two_programs(root: Path) -> TwoPrograms:
    """Load A, then B, then B corrected into one warehouse under `root`, through the real ETL."""
    import datetime as dt
    import shutil

    from peer_outcomes.pipelines.etl import run_etl

    exports = {name: root / name for name in ("a", "b", "b2")}
    generate(exports["a"], participants=A_PEOPLE, seed=SEED + 1)
    for entity, column, value in (
        ("participants", "site", "north"), ("sessions", "site", "north"), ("mentors", "site", "north"),
        ("participants", "program_track", "peer_mentoring"),
    ):  # fmt: skip
        frame = pd.read_csv(exports["a"] / f"{entity}.csv", dtype=str, keep_default_na=False)
        frame[column] = value
        frame.to_csv(exports["a"] / f"{entity}.csv", index=False)
    generate(exports["b"], participants=B_PEOPLE, seed=SEED + 2)
    shared = pd.read_csv(exports["a"] / "participants.csv", dtype=str)["participant_id"].iloc[0]
    first_b = pd.read_csv(exports["b"] / "participants.csv", dtype=str)["participant_id"].iloc[0]
    _replace_id(exports["b"], first_b, shared)
    shutil.copytree(exports["b"], exports["b2"])
    # corrections: attendance statuses and an exit reason change (same natural keys: rows replaced)
    attendance = pd.read_csv(exports["b2"] / "attendance.csv", dtype=str, keep_default_na=False)
    attendance.loc[:199, "status"] = "no_show"
    attendance.to_csv(exports["b2"] / "attendance.csv", index=False)
    exits = pd.read_csv(exports["b2"] / "exits.csv", dtype=str, keep_default_na=False)
    exits.loc[:9, "reason"] = "moved"
    exits.to_csv(exports["b2"] / "exits.csv", index=False)

    db = root / "warehouse.duckdb"
    snaps = {}
    b_as_of = dt.date.fromisoformat(B_AS_OF)
    for step, (export, program, as_of) in {
        "a_only": ("a", "a", None),
        "after_b": ("b", "b", b_as_of),
        "final": ("b2", "b", b_as_of),
    }.items():
        run_etl(exports[export], db, program=program, as_of=as_of)
        snaps[step] = root / f"{step}.duckdb"
        shutil.copyfile(db, snaps[step])
    return TwoPrograms(exports, snaps["a_only"], snaps["after_b"], snaps["final"], shared)
