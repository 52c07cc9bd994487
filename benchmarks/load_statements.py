"""Where a load's CPU goes, statement by statement, beside a bare load of the same files (by hand).

`bench_etl.py --steps` times each file; this times each SQL statement the load runs (wall and process CPU
seconds), with the files read in the foreground so each read is counted on its own, and the marts left out.
Then a bare `create table as select * from read_csv / read_parquet` of every file, in the same process.

With `--straight`, staging attendance (CSV) is also timed, alternated three times, as the load runs it
(read into `scratch`, then typed, checked and joined to the id maps) and straight from `read_csv` in one
statement (no line numbers), once as DuckDB plans it and once with its build-side optimizer off: DuckDB cannot
estimate a CSV's rows, so it builds the session join's hash table on the 4 M attendance rows. The variants'
time counts in that run's totals: read the totals from a run without `--straight`.

    .venv/bin/python benchmarks/load_statements.py EXPORT WORK_DIR [--min-cpu 0.05] [--straight]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from concurrent.futures import Future
from pathlib import Path

import duckdb

from peer_outcomes.pipelines import etl, marts
from peer_outcomes.pipelines.readers import open_source


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Timed:
    """A DuckDB connection that records each statement's wall and CPU seconds in `log`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, log: list[tuple[float, float, str]], straight: bool = False) -> None:
        self._con, self._log, self._straight = con, log, straight

    def execute(self, sql: str, *args, **kwargs) -> Timed:
        if self._straight and sql.startswith("create or replace table scratch.raw_attendance as select * from "):
            READS["attendance"] = sql.removeprefix("create or replace table scratch.raw_attendance as select * from ")
        if self._straight and sql.startswith("create or replace temp table stg_attendance as"):
            straight_variants(self._con, sql)
        wall, used = time.perf_counter(), cpu()
        self._con.execute(sql, *args, **kwargs)
        self._log.append((time.perf_counter() - wall, cpu() - used, " ".join(sql.split())[:100]))
        return self

    def cursor(self) -> Timed:
        return Timed(self._con.cursor(), self._log, self._straight)

    def __getattr__(self, name: str):
        return getattr(self._con, name)


READS: dict[str, str] = {}  # entity -> the read_csv(...) the load read it with


def straight_variants(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Staging attendance from its text copy in `scratch` (as the load does) and straight from read_csv."""
    raw = "(select rowid + 2 as _line, * from scratch.raw_attendance)"
    reader = READS.get("attendance")
    if raw not in sql or reader is None:  # not a CSV read into scratch
        return
    straight = sql.replace(raw, f"(select null::bigint as _line, * from {reader})")
    variants = {
        "read into scratch, then staged (the load)": ["reset disabled_optimizers", f"create or replace table scratch.raw_attendance as select * from {reader}", sql],
        "straight from read_csv": ["reset disabled_optimizers", straight],
        "straight, build sides as written": ["set disabled_optimizers = 'build_side_probe_side'", straight],
    }
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(3):
        for name, statements in variants.items():
            used = cpu()
            for statement in statements:
                con.execute(statement)
            seconds[name].append(cpu() - used)
    con.execute("reset disabled_optimizers")
    for name, values in seconds.items():
        print(f"staging attendance, {name:42s} CPU {statistics.median(values):.2f} s (median of 3)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path)
    parser.add_argument("work", type=Path, help="a folder for the two warehouses and a throwaway key")
    parser.add_argument("--min-cpu", type=float, default=0.05, help="list statements using at least this")
    parser.add_argument("--straight", action="store_true", help="also time attendance staged straight from read_csv")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PEER_OUTCOMES_KEY_FILE", str(args.work / "bench.key"))
    for old in [*args.work.glob("load.duckdb*"), *args.work.glob("bare.duckdb*")]:
        old.unlink()
    log: list[tuple[float, float, str]] = []
    connect = duckdb.connect

    def read_now(_reader, cursor, file, mp) -> Future:
        done: Future = Future()
        done.set_result(open_source(cursor, file, f"scratch.raw_{file.entity}", settle_lines=False, zone=mp.timezone))
        return done

    etl.duckdb.connect = lambda *a, **k: Timed(connect(*a, **k), log, args.straight)
    etl._read, marts.build_marts = read_now, lambda _con, **_kw: {}
    wall, used = time.perf_counter(), cpu()
    try:
        etl.run_etl(args.export, args.work / "load.duckdb")
    finally:
        etl.duckdb.connect = connect
    load = (time.perf_counter() - wall, cpu() - used)
    for w, c, sql in log:
        if c >= args.min_cpu:
            print(f"{w:7.2f} s  CPU {c:6.2f} s  {sql}")
    print(f"statements: {sum(x[0] for x in log):.2f} s, CPU {sum(x[1] for x in log):.2f} s")
    wall, used = time.perf_counter(), cpu()
    with connect(str(args.work / "bare.duckdb")) as con:
        for path in sorted([*args.export.glob("*.csv"), *args.export.glob("*.parquet")]):
            con.execute(f"create table {path.stem} as select * from read_{path.suffix[1:]}('{path}')")
        con.execute("checkpoint")
    bare = (time.perf_counter() - wall, cpu() - used)
    print(f"load without marts {load[0]:.2f} s, CPU {load[1]:.2f} s (hashing included)")
    print(f"bare load          {bare[0]:.2f} s, CPU {bare[1]:.2f} s; CPU ratio {load[1] / bare[1]:.2f}x")


if __name__ == "__main__":
    main()
