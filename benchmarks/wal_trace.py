"""Where DuckDB's automatic checkpoints fall during a load's mart build: the WAL's size around each model.

A mart smaller than a row group (122,880 rows) is written to the write-ahead log at its commit; when the log
passes `checkpoint_threshold` (16 MB), that commit also checkpoints the file, and the model that happened to
cross it carries the checkpoint's seconds (`bench_etl.py --steps` showed referrals, 56k rows, at 0.25 s).

    .venv/bin/python benchmarks/wal_trace.py --export /tmp/po-100k/export
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import duckdb

from peer_outcomes.pipelines import marts
from peer_outcomes.pipelines.etl import run_etl


def cpu() -> float:
    """CPU seconds of this process, DuckDB's threads included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def traced_build(con: duckdb.DuckDBPyConnection, sqls: dict[str, str], cpu_seconds=None) -> dict[str, float]:
    """`marts.build_models`, printing each model's seconds and the WAL's size before and after it."""
    (path,) = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()
    wal = Path(f"{path}.wal")
    size = lambda: wal.stat().st_size / 1e6 if wal.exists() else 0.0  # noqa: E731
    seconds: dict[str, float] = {}
    con.execute("create schema if not exists marts")
    con.execute("attach ':memory:' as intermediate")
    try:
        for name in marts.build_order(sqls):
            before, w, c = size(), time.perf_counter(), cpu()
            con.execute(f"create or replace table {name} as\n{sqls[name]}")
            seconds[name] = time.perf_counter() - w
            after = size()
            note = "  <- checkpoint" if after < before or (before and not after) else ""
            print(f"{name:32s} {seconds[name]:5.2f} s  CPU {cpu() - c:5.2f} s  WAL {before:5.1f} -> {after:5.1f} MB{note}")
    finally:
        con.execute("detach intermediate")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", type=Path, required=True)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wal-trace-"))
    os.environ.setdefault("PEER_OUTCOMES_KEY_FILE", str(work / "bench.key"))
    marts.build_models = traced_build
    run_etl(args.export, work / "warehouse.duckdb")


if __name__ == "__main__":
    main()
