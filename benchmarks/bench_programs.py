"""Benchmark loading one more program into a shared warehouse; prints seconds and the ratio to a same-run baseline.

A load of program B copies every program's rows into the new file (etl.py: one writer, atomic swap) and
rebuilds B's mart rows only, copying the others' (marts.build_marts; before, it rebuilt every program's).
Timed per round, alternated so the ratio holds on a loaded machine:

- baseline: B's export (a synthetic program of `--n` people) loaded alone into an empty warehouse;
- shared: the same export loaded as program B beside the programs of `--db` (a copy: `--db` is never written);
  `--db` must have been built by this version (its `mart_builds` match the marts' SQL), or its programs'
  marts are rebuilt too. Each round also prints the seconds of the marts build alone.

    .venv/bin/python benchmarks/bench_programs.py --db /tmp/multiprog-100k/warehouse.duckdb --n 300 --rounds 2
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

from peer_outcomes.pipelines import marts  # noqa: E402
from peer_outcomes.pipelines.etl import run_etl  # noqa: E402
from peer_outcomes.pipelines.synth import generate  # noqa: E402


def cpu() -> float:
    """CPU seconds of this process, DuckDB's threads included: steadier than wall time on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True, help="a warehouse holding the other programs (copied)")
    ap.add_argument("--n", type=int, default=300, help="participants in program B")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
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
