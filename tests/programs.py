"""Test programs of every size and shape a small peer-mentoring program may have (issue 12.1).

A `size_<n>` program has everyone at one site in one track, so 11 people is exactly the threshold; `sites_60`
is a realistic 60-person program spread over sites and tracks (`sites_60_no_practice` the same without the
mentoring-practice files); the other shapes reshape a larger synthetic
program: one site, one enrollment month, one track, no matches, no relapses. All synthetic.
"""

from __future__ import annotations

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
