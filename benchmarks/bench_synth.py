"""How long the synthetic generator takes at 100,000 participants (it feeds every test, demo and benchmark).

The baseline, measured in the same run, is the bare I/O of the same export: pyarrow reading every CSV the
generator wrote and writing it again. The ratio says how many such read+write passes generation costs.

    .venv/bin/python benchmarks/bench_synth.py [--participants 100000] [--seed 7]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyarrow.csv as pacsv

from peer_outcomes.pipelines.synth import FILES, generate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--participants", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "export"
        t0 = time.perf_counter()
        truth = generate(out, participants=args.participants, seed=args.seed)
        gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        for name in FILES:
            table = pacsv.read_csv(out / f"{name}.csv")
            pacsv.write_csv(table, Path(tmp) / f"copy_{name}.csv")
        io = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in out.glob("*.csv")) / 1e6
    rows = truth["rows"]
    print(f"participants {args.participants:,}; attendance {rows['attendance.csv']:,}; sessions "
          f"{rows['sessions.csv']:,}; {size:,.0f} MB of CSV")  # fmt: skip
    print(f"generate           {gen:6.2f} s")
    print(f"baseline read+write {io:6.2f} s (pyarrow, same files)")
    print(f"ratio generate / baseline: {gen / io:.1f}x")


if __name__ == "__main__":
    main()
