"""Benchmark loading one more program into a shared warehouse; prints seconds and the ratio to a same-run baseline.

A load of program B starts its new file as a byte copy of the live one (warehouse.copy_live; before, every
program's rows were copied over row by row, decoded and encoded again), upserts B's rows in it and rebuilds
B's mart rows only (marts.build_marts; before that, it rebuilt every program's).
Timed per round, alternated so the ratio holds on a loaded machine:

- baseline: B's export (a synthetic program of `--n` people) loaded alone into an empty warehouse;
- shared: the same export loaded as program B beside the programs of `--db` (a copy: `--db` is never written);
  `--db` must have been built by this version (its `mart_builds` match the marts' SQL), or its programs'
  marts are rebuilt too. Each round also prints the seconds of the marts build alone.

    .venv/bin/python benchmarks/bench_programs.py --db /tmp/multiprog-100k/warehouse.duckdb --n 300 --rounds 2

With `--carry-over-only`, only what a load pays for the rows it keeps is timed, on `--db` itself (read only):
the byte copy (warehouse.copy_live) against copying every core, mart and aggregate row into a new file and
checkpointing it (what a load did before), alternated; `--db` may be a 1M or 10M warehouse of any version:

    .venv/bin/python benchmarks/bench_programs.py --db /tmp/tenmillion-1m/new/warehouse.duckdb --carry-over-only

At 100,000 people beside (a warehouse this version built from /tmp/po-100k/export), 300 people cost 1.3x the
CPU of loading them alone (0.9-1.1x the wall time); 7.3-7.7x (8.0-9.2x wall) when the rows were copied.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb  # noqa: E402

from peer_outcomes.pipelines import marts  # noqa: E402
from peer_outcomes.pipelines.etl import run_etl  # noqa: E402
from peer_outcomes.pipelines.synth import generate  # noqa: E402
from peer_outcomes.pipelines.warehouse import copy_live  # noqa: E402


def cpu() -> float:
    """CPU seconds of this process, DuckDB's threads included: steadier than wall time on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def carry_over_only(db: Path, rounds: int) -> None:
    """Seconds and CPU of the byte copy against the row-by-row copy of every table of `db`, alternated."""
    schema = (Path(marts.__file__).parent / "sql" / "warehouse.sql").read_text()
    with tempfile.TemporaryDirectory(prefix="bench-carry-") as tmp:
        for r in range(1, rounds + 1):
            copied, rows = Path(tmp) / f"copied{r}.duckdb", Path(tmp) / f"rows{r}.duckdb"
            start, start_cpu = time.perf_counter(), cpu()
            assert copy_live(db, copied, schema), f"{db} is not of this version's shape: it would be copied row by row"
            t_copy, c_copy = time.perf_counter() - start, cpu() - start_cpu
            copied.unlink()
            start, start_cpu = time.perf_counter(), cpu()
            with duckdb.connect(str(rows)) as con:
                con.execute(f"attach '{db}' as old (read_only)")
                for schema_name, table in con.execute(
                    "select schema_name, table_name from duckdb_tables() where database_name = 'old'"
                ).fetchall():
                    con.execute(f'create schema if not exists "{schema_name}"')
                    con.execute(f'create table "{schema_name}"."{table}" as select * from old."{schema_name}"."{table}"')
                con.execute("detach old")
                con.execute("checkpoint")
            t_rows, c_rows = time.perf_counter() - start, cpu() - start_cpu
            rows.unlink()
            print(f"round {r}: {db} ({db.stat().st_size / 1e9:.2f} GB) byte copy {t_copy:.1f} s (CPU {c_copy:.1f} s),"
                  f" row by row {t_rows:.1f} s (CPU {c_rows:.1f} s): {t_rows / t_copy:.1f}x the wall time")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True, help="a warehouse holding the other programs (copied)")
    ap.add_argument("--n", type=int, default=300, help="participants in program B")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--carry-over-only", action="store_true", help="time only carrying --db's rows into a new file")
    args = ap.parse_args()
    if args.carry_over_only:
        carry_over_only(args.db, args.rounds)
        return
    build, timings = marts.build_marts, []

    def timed_marts(con, **kwargs):
        start, start_cpu = time.perf_counter(), cpu()
        rebuilt = build(con, **kwargs)
        done = sorted(rebuilt) if rebuilt is not None else ["every program"]  # versions before d03f4e6: None
        timings.append((time.perf_counter() - start, cpu() - start_cpu, done))
        return rebuilt

    marts.build_marts = timed_marts
    with tempfile.TemporaryDirectory(prefix="bench-programs-") as tmp:
        work = Path(tmp)
        os.environ.setdefault("PEER_OUTCOMES_KEY_FILE", str(work / "key" / "pseudonym.key"))
        generate(work / "b", participants=args.n, seed=4)
        for r in range(1, args.rounds + 1):
            alone, shared = work / f"alone{r}.duckdb", work / f"shared{r}.duckdb"
            shutil.copyfile(args.db, shared)
            start, start_cpu = time.perf_counter(), cpu()
            run_etl(work / "b", alone, program="b")
            t_alone, c_alone = time.perf_counter() - start, cpu() - start_cpu
            start, start_cpu = time.perf_counter(), cpu()
            run_etl(work / "b", shared, program="b")
            t_shared, c_shared = time.perf_counter() - start, cpu() - start_cpu
            print(f"round {r}: B ({args.n:,}) alone {t_alone:.1f} s, beside {args.db.name} {t_shared:.1f} s, "
                  f"ratio {t_shared / t_alone:.1f} (CPU {c_alone:.1f} s, {c_shared:.1f} s, ratio {c_shared / c_alone:.1f});"
                  f" marts build {timings[-2][0]:.1f} s alone, {timings[-1][0]:.1f} s beside (CPU {timings[-2][1]:.1f} s,"
                  f" {timings[-1][1]:.1f} s; rebuilt for {', '.join(timings[-1][2]) or 'none'})")  # fmt: skip
            for f in (alone, shared):
                f.unlink()


if __name__ == "__main__":
    main()
