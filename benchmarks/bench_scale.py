"""How load time, peak memory, marts time and page time grow with the number of participants (issue 17.2).

For each size, in the same run: a synthetic export (`peer-outcomes synth --format parquet`, written block
by block; kept in --work and reused, and then not timed again), the whole ETL (`peer-outcomes etl`, marts
included) under a DuckDB memory limit, a rebuild of the marts alone on a copy of the warehouse, and two
pages' published results (`published.retention`, `published.relapse_cox`; read-only, timed inside their
process so that imports do not count). Each step runs in its own process, so its peak resident memory is
its own (os.wait4's ru_maxrss). The first size
is the baseline: each figure is also printed as its ratio to the baseline's, beside the ratio of sizes
(linear growth = the same ratio).

    .venv/bin/python benchmarks/bench_scale.py [--sizes 100000 1000000] [--work /tmp/bench-scale]
        [--memory-limit 8GB] [--pages-only]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

BIN = Path(sys.executable).parent
MARTS = (
    "import sys, duckdb; from peer_outcomes.pipelines.marts import build_marts\n"
    "con = duckdb.connect(sys.argv[1]); con.execute('set threads = 3')\n"
    "con.execute(\"set memory_limit = '\" + sys.argv[2] + \"'\"); build_marts(con); con.close()\n"
)
PAGE = (  # each page's published results, timed inside the process (imports excluded), printed as JSON
    "import json, sys, time; from peer_outcomes.analysis import published; "
    "from peer_outcomes.analysis.queries import Filters\n"
    "out = {}\n"
    "for name in ('retention', 'relapse_cox'):\n"
    "    t, c = time.perf_counter(), time.process_time(); getattr(published, name)(sys.argv[1], Filters())\n"
    "    out[name + ' page s'], out[name + ' page cpu s'] = time.perf_counter() - t, time.process_time() - c\n"
    "print(json.dumps(out))\n"
)


def spill_peak(db: Path, done: threading.Event, peak: list[int]) -> None:
    """Sample, every second until `done`, the bytes in DuckDB's spill folders beside the file being built
    (`<db>.building-<pid>.tmp`); the largest total is left in `peak[0]`."""
    while not done.wait(1.0):
        total = 0
        for folder in db.parent.glob(f"{db.name}.building-*.tmp"):
            for f in folder.glob("*"):
                with contextlib.suppress(OSError):  # a spill file removed between the listing and the stat
                    total += f.stat().st_size
        peak[0] = max(peak[0], total)


def run(
    args: list[str], env: dict[str, str], out: list[str] | None = None, spill: Path | None = None
) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak resident GiB) of one command in its own process; stops the run if it
    fails. CPU seconds (user + system, all threads) are the steadier figure on a shared, loaded machine.
    With `out`, the command's standard output is appended to it; with `spill` (a warehouse path), the
    largest spill of a load into it is printed."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL if out is None else subprocess.PIPE, text=True)
    done, peak = threading.Event(), [0]
    sampler = threading.Thread(target=spill_peak, args=(spill, done, peak)) if spill else None
    if sampler:
        sampler.start()
    if out is not None:
        out.append(proc.stdout.read())
    _, status, usage = os.wait4(proc.pid, 0)
    if sampler:
        done.set()
        sampler.join()
        print(f"  largest spill of the load into {spill}: {peak[0] / 2**30:.2f} GiB", flush=True)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(args)}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 2**20  # ru_maxrss: KiB on Linux


def pages(db: Path, env: dict[str, str]) -> dict[str, float]:
    """Each page's published results in seconds, and the process's peak memory."""
    printed: list[str] = []
    _, _, page_gib = run([sys.executable, "-c", PAGE, str(db)], env, printed)
    *other, last = printed[0].strip().split("\n")
    if other:  # a library's own prints (e.g. warnings) come before the figures
        print("\n".join(other), file=sys.stderr)
    return {**json.loads(last), "pages peak GiB": page_gib}


def measure(n: int, work: Path, env: dict[str, str], limit: str, pages_only: bool) -> dict[str, float]:
    export, db = work / f"export-{n}", work / f"warehouse-{n}.duckdb"
    if pages_only:
        return pages(db, env)
    synth: dict[str, float] = {}
    if not (export / "truth.json").exists():
        args = ["synth", "--participants", str(n), "--seed", "1", "--format", "parquet", "--out", str(export)]
        synth_s, synth_cpu, synth_gib = run([str(BIN / "peer-outcomes"), *args], env)
        synth = {"synth s": synth_s, "synth cpu s": synth_cpu, "synth peak GiB": synth_gib}
    db.unlink(missing_ok=True)
    load = [str(BIN / "peer-outcomes"), "etl", str(export), "--db", str(db)]
    load_s, load_cpu, load_gib = run(load, env, spill=db)
    copy = work / f"marts-{n}.duckdb"
    shutil.copyfile(db, copy)
    marts_s, marts_cpu, marts_gib = run([sys.executable, "-c", MARTS, str(copy), limit], env)
    copy.unlink()
    return {**synth, "load s": load_s, "load cpu s": load_cpu, "load peak GiB": load_gib, "marts s": marts_s,
            "marts cpu s": marts_cpu, "marts peak GiB": marts_gib, **pages(db, env), "warehouse GiB": db.stat().st_size / 2**30}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-scale"))
    parser.add_argument("--memory-limit", default="8GB")
    parser.add_argument("--pages-only", action="store_true", help="only the pages, on warehouses built before")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PEER_OUTCOMES_MEMORY_LIMIT": args.memory_limit,
           "PEER_OUTCOMES_KEY_FILE": str(args.work / "pseudonym.key")}
    results = {}
    for n in args.sizes:
        results[n] = measure(n, args.work, env, args.memory_limit, args.pages_only)
        print(f"{n:>11,} participants: " + ", ".join(f"{k} {v:.2f}" for k, v in results[n].items()), flush=True)
    base = args.sizes[0]
    print(f"\nratios to {base:,} participants (memory limit {args.memory_limit}):")
    for n in args.sizes[1:]:
        cells = ", ".join(f"{k} {results[n][k] / results[base][k]:.2f}x" for k in results[n] if k in results[base])
        print(f"{n:>11,} ({n / base:.0f}x the people): {cells}")


if __name__ == "__main__":
    main()
