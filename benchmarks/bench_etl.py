"""ETL speed against a bare DuckDB load of the same files, measured side by side in the same run.

    .venv/bin/python benchmarks/bench_etl.py                         # 100,000 participants: 4.1 M attendance rows
    .venv/bin/python benchmarks/bench_etl.py --participants 170000   # 7.0 M attendance rows, 10.4 M rows in all
    .venv/bin/python benchmarks/bench_etl.py --bad-rows 1000000      # quarantine: 1 M malformed rows vs clean
    .venv/bin/python benchmarks/bench_etl.py --steps                 # also where the time goes, step by step
    .venv/bin/python benchmarks/bench_etl.py --export DIR            # an export made before (CSV or Parquet)

Baseline: `create table t as select * from read_csv(file)` (or `read_parquet`) for every file into a fresh
DuckDB file (types sniffed or as stored, no checks, no pseudonyms). ETL: `run_etl` into a fresh warehouse (read as text, type, check,
quarantine, pseudonymize, integer keys, upsert, checkpoint, swap), reported with and without the mart
rebuild it ends with. Targets (issue 14): ETL without marts ≤ 1.2× the bare load, with marts ≤ 2×. The machine is shared and noisy:
each round runs both loads back to back, and the ratio is also given round by round (median and range).
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peer_outcomes.pipelines import etl as etl_module  # noqa: E402
from peer_outcomes.pipelines import marts  # noqa: E402
from peer_outcomes.pipelines.etl import run_etl  # noqa: E402
from peer_outcomes.pipelines.synth import generate  # noqa: E402


def cpu() -> float:
    """CPU seconds of this process, all threads: steadier than wall time on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bare_load(export: Path, db: Path) -> tuple[float, int]:
    """Seconds and rows for a plain read_csv (read_parquet) → table of every CSV (Parquet) file in the export."""
    start = time.perf_counter()
    rows = 0
    with duckdb.connect(str(db)) as con:
        for path in sorted([*export.glob("*.csv"), *export.glob("*.parquet")]):
            con.execute(f"create table {path.stem} as select * from read_{path.suffix[1:]}('{path}')")
            rows += con.execute(f"select count(*) from {path.stem}").fetchall()[0][0]
        con.execute("checkpoint")
    return time.perf_counter() - start, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--export", type=Path, help="time this export folder (CSV or Parquet, made before) instead of generating one"
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/etl"))
    parser.add_argument("--rounds", type=int, default=5, help="rounds of bare load + ETL, alternated")
    parser.add_argument(
        "--messy", action="store_true", help="also load a --messy export of the same size in each round"
    )
    parser.add_argument(
        "--steps",
        action="store_true",
        help="also print each step of the fastest ETL round (wall and CPU seconds) and each mart model's seconds",
    )
    parser.add_argument(
        "--bad-rows",
        type=int,
        default=0,
        help="instead: time an attendance.csv of this many rows with one extra value each against the same "
        "file clean (every row quarantined vs every row loaded)",
    )
    args = parser.parse_args()
    if args.bad_rows:
        quarantine_bench(args.bad_rows, args.out, args.rounds)
        return

    export = args.export or args.out / f"export-{args.participants}-{args.seed}"
    messy = args.out / f"export-{args.participants}-{args.seed}-messy"
    for folder, is_messy in ((export, False), (messy, True))[: 1 + args.messy]:
        if not (folder / "truth.json").exists() and not args.export:
            t = time.perf_counter()
            generate(folder, participants=args.participants, seed=args.seed, messy=is_messy)
            print(f"generated {folder} in {time.perf_counter() - t:.1f} s")
    sizes = {p.name: p.stat().st_size for p in [*export.glob("*.csv"), *export.glob("*.parquet")]}
    largest = max(sizes, key=sizes.__getitem__)
    print(f"export {export}: {sum(sizes.values()) / 1e6:.0f} MB, {largest} {sizes[largest] / 1e6:.0f} MB")

    work = Path(tempfile.mkdtemp(prefix="bench-etl-"))
    os.environ.setdefault("PEER_OUTCOMES_KEY_FILE", str(work / "bench.key"))
    mart_seconds: list[float] = []
    build, build_models, check_marts, steps = marts.build_marts, marts.build_models, marts.check_marts, etl_module._steps
    build_aggregates = marts.build_aggregates
    profiles: list[list[tuple[str, float, float]]] = []  # per round: (step or model, wall s, CPU s)

    def timed_marts(con: duckdb.DuckDBPyConnection, **kwargs) -> dict[str, list[str]]:
        t, c = time.perf_counter(), cpu()
        rebuilt = build(con, **kwargs)
        mart_seconds.append((time.perf_counter() - t, cpu() - c))
        return rebuilt

    def timed_models(con: duckdb.DuckDBPyConnection, sqls, cpu_seconds=None) -> dict[str, float]:
        model_cpu: dict[str, float] = {} if cpu_seconds is None else cpu_seconds
        seconds = build_models(con, sqls, model_cpu)
        profiles[-1].extend((f"  model {n}", s, model_cpu[n]) for n, s in seconds.items())
        return seconds

    def timed_checks(con: duckdb.DuckDBPyConnection, **kwargs) -> list[str]:
        t, c = time.perf_counter(), cpu()
        failures = check_marts(con, **kwargs)
        profiles[-1].append(("  marts.yml checks", time.perf_counter() - t, cpu() - c))
        return failures

    def timed_aggregates(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
        t, c = time.perf_counter(), cpu()
        seconds = build_aggregates(con)
        profiles[-1].append(("  aggregates (whole)", time.perf_counter() - t, cpu() - c))
        return seconds

    @contextmanager
    def timed_steps(progress: bool) -> Iterator:
        """The ETL's own steps (the progress bar's), each timed from its start to the next one's."""
        profiles.append([])
        mark = ["setting up", time.perf_counter(), cpu()]

        def step(msg: str) -> None:
            profiles[-1].append((mark[0], time.perf_counter() - mark[1], cpu() - mark[2]))
            mark[:] = [msg, time.perf_counter(), cpu()]

        yield step
        step("")

    marts.build_marts = timed_marts
    if args.steps:
        marts.build_models, marts.check_marts, etl_module._steps = timed_models, timed_checks, timed_steps
        marts.build_aggregates = timed_aggregates
    try:
        bare, etl, messy_etl = [], [], []
        for round_ in range(args.rounds):  # alternate: both see the same machine load and a warm file cache
            w, c = time.perf_counter(), cpu()
            _, rows = bare_load(export, work / f"bare{round_}.duckdb")
            bare.append((time.perf_counter() - w, cpu() - c))
            w, c = time.perf_counter(), cpu()
            report = run_etl(export, work / f"wh{round_}.duckdb")
            etl.append((time.perf_counter() - w, cpu() - c, *mart_seconds[-1]))
            sizes_mb = {n: (work / f"{n}{round_}.duckdb").stat().st_size / 1e6 for n in ("wh", "bare")}
            if args.messy:
                w = time.perf_counter()
                messy_report = run_etl(messy, work / f"messy{round_}.duckdb")
                messy_etl.append(time.perf_counter() - w - mart_seconds[-1][0])
            for leftover in work.glob(f"*{round_}.duckdb*"):
                leftover.unlink()
        loaded = sum(f.rows_loaded for f in report.files)
        bare_s, bare_cpu = min(b[0] for b in bare), min(b[1] for b in bare)
        etl_s = min(e[0] for e in etl)
        core_s = min(e[0] - e[2] for e in etl)
        etl_cpu = min(e[1] for e in etl)
        core_cpu = min(e[1] - e[3] for e in etl)
        print(
            f"rows: {rows:,} read by the bare load, {loaded:,} loaded by the ETL (best of {args.rounds} rounds each)"
        )
        print(
            f"bare DuckDB load      {bare_s:6.2f} s  {rows / bare_s:>12,.0f} rows/s  (CPU {bare_cpu:.2f} s)"
        )
        print(
            f"ETL without marts     {core_s:6.2f} s  {loaded / core_s:>12,.0f} rows/s  ratio {core_s / bare_s:.2f}x"
            f"  (CPU {core_cpu:.2f} s, ratio {core_cpu / bare_cpu:.2f}x)"
        )
        print(
            f"ETL with marts        {etl_s:6.2f} s  {loaded / etl_s:>12,.0f} rows/s  ratio {etl_s / bare_s:.2f}x"
            f"  (CPU {etl_cpu:.2f} s, ratio {etl_cpu / bare_cpu:.2f}x)"
        )
        paired = sorted((e[0] - e[2]) / b[0] for e, b in zip(etl, bare, strict=True))
        print(
            f"ETL without marts / bare load, round by round: median {statistics.median(paired):.2f}x, "
            f"range {paired[0]:.2f}x-{paired[-1]:.2f}x"
        )
        print(
            f"(marts rebuild {min(e[2] for e in etl):.2f} s; warehouse {sizes_mb['wh']:.0f} MB, bare {sizes_mb['bare']:.0f} MB)"
        )
        if args.steps:
            best = min(range(len(etl)), key=lambda i: etl[i][0])
            print(f"where the time goes (round {best + 1}, the fastest ETL; a step runs until the next starts):")
            for name, wall, cpu_s in profiles[best * (1 + args.messy)]:
                print(f"  {wall:6.2f} s  CPU {cpu_s:6.2f} s  {name}")
        if args.messy:
            quarantined = sum(f.rows_quarantined for f in messy_report.files)
            slower = sorted(m / (e[0] - e[2]) for m, e in zip(messy_etl, etl, strict=True))
            print(
                f"messy export, same size: ETL without marts {min(messy_etl):.2f} s, {quarantined} rows "
                f"quarantined; {statistics.median(slower):.2f}x the clean ETL (median of rounds)"
            )
    finally:
        marts.build_marts, marts.build_models, marts.check_marts, etl_module._steps = build, build_models, check_marts, steps
        marts.build_aggregates = build_aggregates
        shutil.rmtree(work, ignore_errors=True)


def quarantine_bench(n: int, out: Path, rounds: int) -> None:
    """1 M bad rows should quarantine in roughly the time of a clean load of the same file (issue 13)."""
    base = out / f"export-quarantine-{n}"
    if not (base / "truth.json").exists():  # about 41 attendance rows per participant (docs/architecture.md)
        generate(base, participants=n // 35, seed=3)
    work = Path(tempfile.mkdtemp(prefix="bench-quarantine-"))
    os.environ.setdefault("PEER_OUTCOMES_KEY_FILE", str(work / "bench.key"))
    try:
        lines = (base / "attendance.csv").read_text().splitlines()
        header, body = lines[0], lines[1 : n + 1]
        if len(body) < n:
            raise SystemExit(f"{base} has only {len(body):,} attendance rows; delete it and run again")
        for name, rows in (("clean", body), ("bad", [line + ",extra" for line in body])):
            folder = work / name
            shutil.copytree(base, folder, ignore=shutil.ignore_patterns("attendance.csv", "truth.json"))
            (folder / "attendance.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
        timings: dict[str, list[float]] = {"clean": [], "bad": []}
        for r in range(rounds):
            for name in timings:
                t = time.perf_counter()
                report = run_etl(work / name, work / f"{name}{r}.duckdb")
                timings[name].append(time.perf_counter() - t)
                f = report.file("attendance")
                print(f"  {name}: read {f.rows_read:,}, loaded {f.rows_loaded:,}, quarantined {f.rows_quarantined:,}")
        clean, bad = min(timings["clean"]), min(timings["bad"])
        print(
            f"{n:,} attendance rows (best of {rounds}): clean load {clean:.2f} s, every row quarantined "
            f"{bad:.2f} s, ratio {bad / clean:.2f}x"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
