"""What bounds the load without marts against a bare load: the parts no check can avoid (by hand).

Same run, alternated, CPU seconds of this process (steadier than wall on a shared machine):

- bare load: `create table as select * from read_csv(file)` for every file, then CHECKPOINT (bench_etl.py's);
- bare read: the same sniffed reads into memory only, nothing written (so bare load - bare read = its write);
- text read: every file read as the load reads it, all VARCHAR with line numbers (`readers.read_fast_csv`
  into the in-memory `scratch`), nothing else: exact verdicts need the text, so this is the least a load reads;
- attendance to integer keys, the facts' id-map joins alone (raw id -> row number of sessions.csv and
  participants.csv), from the text read in memory, and straight from read_csv in one statement;
- the load without marts (`run_etl` with the mart rebuild left out).

floor = text read + the bare load's write: a load that only read text and wrote it would cost that much,
before typing, checks, id maps, pseudonyms, duplicate counts and hashes.

    .venv/bin/python benchmarks/bench_load_floor.py --export /tmp/po-100k/export --rounds 3
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peer_outcomes.pipelines import marts  # noqa: E402
from peer_outcomes.pipelines.etl import run_etl  # noqa: E402
from peer_outcomes.pipelines.readers import ExportFile, read_fast_csv  # noqa: E402


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def csvs(export: Path) -> list[Path]:
    return sorted(export.glob("*.csv"))


def bare_load(export: Path, db: Path) -> None:
    with duckdb.connect(str(db)) as con:
        for path in csvs(export):
            con.execute(f"create table {path.stem} as select * from read_csv('{path}')")
        con.execute("checkpoint")


def bare_read(export: Path) -> None:
    with duckdb.connect() as con:
        for path in csvs(export):
            con.execute(f"create table {path.stem} as select * from read_csv('{path}')")


def text_read(export: Path) -> None:
    with duckdb.connect() as con:
        con.execute("attach ':memory:' as scratch")
        for path in csvs(export):
            read_fast_csv(con, ExportFile(path.stem, path, "csv"), f"scratch.raw_{path.stem}")


def key_joins(export: Path, straight: bool) -> None:
    """attendance's session and participant ids to integer keys, from a text copy in memory or from the file."""
    with duckdb.connect() as con:
        con.execute("set threads = 3")  # as the load sets it
        for name, column in (("sessions", "session_id"), ("participants", "participant_id")):
            con.execute(
                f"create temp table map_{name} as select {column} as raw_id, row_number() over () as key "
                f"from read_csv('{export / name}.csv', all_varchar=true)"
            )
        reader = f"read_csv('{export}/attendance.csv', all_varchar=true)"
        if straight:
            source = reader
        else:
            con.execute(f"create temp table raw as select * from {reader}")
            source = "raw"
        con.execute(
            f"""create temp table keyed as select s.key as session_key, p.key as participant_key,
                       a.status from {source} a
                left join map_sessions s on s.raw_id = a.session_id
                left join map_participants p on p.raw_id = a.participant_id"""
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", type=Path, required=True, help="a CSV export (peer-outcomes synth)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    os.environ.setdefault("PEER_OUTCOMES_KEY_FILE", str(work / "bench.key"))
    build = marts.build_marts
    marts.build_marts = lambda _con, **_kw: {}
    steps = {
        "bare load": lambda r: bare_load(args.export, work / f"bare{r}.duckdb"),
        "bare read (no write)": lambda _r: bare_read(args.export),
        "text read with lines": lambda _r: text_read(args.export),
        "attendance keys, from text copy": lambda _r: key_joins(args.export, straight=False),
        "attendance keys, from read_csv": lambda _r: key_joins(args.export, straight=True),
        "load without marts": lambda r: run_etl(args.export, work / f"wh{r}.duckdb"),
    }
    seconds: dict[str, list[tuple[float, float]]] = {name: [] for name in steps}
    try:
        for r in range(args.rounds):
            for name, step in steps.items():
                wall, used = time.perf_counter(), cpu()
                step(r)
                seconds[name].append((time.perf_counter() - wall, cpu() - used))
    finally:
        marts.build_marts = build
        shutil.rmtree(work, ignore_errors=True)
    med = {n: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for n, v in seconds.items()}
    bare = med["bare load"][1]
    print(f"{args.export}, median of {args.rounds} rounds (alternated); CPU / bare load's CPU")
    for name, (wall, used) in med.items():
        print(f"  {name:34s} wall {wall:6.2f} s  CPU {used:6.2f} s  {used / bare:5.2f}x")
    floor = med["text read with lines"][1] + med["bare load"][1] - med["bare read (no write)"][1]
    print(f"  {'floor: text read + bare write':34s} {'':15s} CPU {floor:6.2f} s  {floor / bare:5.2f}x")
    rest = med["load without marts"][1] - floor
    print(f"  {'load without marts - floor':34s} {'':15s} CPU {rest:6.2f} s  {rest / bare:5.2f}x")


if __name__ == "__main__":
    main()
