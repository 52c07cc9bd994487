"""How the load should hash the export's files: SHA-256 through an mmap (the old way) or hashlib.file_digest,
against BLAKE2b, alternated in the same run (by hand).

The data version and the unchanged-load check both use each file's SHA-256, computed once per file in a
background thread while DuckDB reads (etl.py). On a CPU with the SHA extensions (`grep sha_ni /proc/cpuinfo`)
OpenSSL's SHA-256 is faster than BLAKE2b, so changing the algorithm would only change every data version.

    .venv/bin/python benchmarks/bench_hash.py /tmp/po-100k/export --rounds 3
"""

from __future__ import annotations

import argparse
import hashlib
import mmap
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def by_mmap(path: Path, algo: str) -> str:
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        return hashlib.new(algo, mm).hexdigest()


def by_file_digest(path: Path, algo: str) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, algo).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    files = sorted(p for p in args.export.iterdir() if p.suffix in (".csv", ".parquet", ".xlsx") and p.stat().st_size)
    ways: dict[str, Callable[[Path], str]] = {
        "sha256, mmap (old)": lambda p: by_mmap(p, "sha256"),
        "sha256, file_digest": lambda p: by_file_digest(p, "sha256"),
        "blake2b, file_digest": lambda p: by_file_digest(p, "blake2b"),
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    digests: dict[str, list[str]] = {}
    for _ in range(args.rounds):
        for name, way in ways.items():
            wall, used = time.perf_counter(), cpu()
            digests[name] = [way(p) for p in files]
            times[name].append((time.perf_counter() - wall, cpu() - used))
    assert digests["sha256, mmap (old)"] == digests["sha256, file_digest"]
    mb = sum(p.stat().st_size for p in files) / 1e6
    base = statistics.median(c for _, c in times["sha256, mmap (old)"])
    print(f"{len(files)} files, {mb:.0f} MB, median of {args.rounds} rounds (alternated)")
    for name, rows in times.items():
        w, c = statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)
        print(f"{name:22s} wall {w:5.2f} s  CPU {c:5.2f} s  CPU / old {c / base:4.2f}x")


if __name__ == "__main__":
    main()
