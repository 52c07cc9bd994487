"""Benchmark the evidence pack on the demo warehouse; prints ratios against baselines timed in the same run.

1. Static images: the pack's 7 charts as PNG + SVG through one kaleido sync server (what `build_pack`
   does) vs the baseline, plotly's default one-shot `to_image` (a browser per image); target ≥ 4× faster.
2. The whole pack (`build_pack`: published results, 14 images, CSVs, PDF, manifest) for the demo size
   (3,000 participants); target < 5 s (< 10 s at 100,000) on two cores. Also shown: its share spent on
   published results, and `peer-outcomes evidence` as a user runs it (a new process: imports included).

The warehouse: `--db` if given, else a synthetic export of `--n` participants loaded by the real ETL into
a temporary folder (with a throwaway pseudonym key).
Run: `.venv/bin/python benchmarks/bench_evidence.py [--n 3000] [--db data/warehouse.duckdb]`
(100,000: load `peer-outcomes synth --participants 100000 --seed 1` once and pass its warehouse as --db).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peer_outcomes.analysis.queries import Filters  # noqa: E402
from peer_outcomes.dashboard.evidence import PNG_SCALE, WIDTH, build_pack, compute, image_server, items  # noqa: E402


def demo_warehouse(n: int, tmp: Path) -> Path:
    from peer_outcomes.pipelines.etl import run_etl
    from peer_outcomes.pipelines.synth import generate

    os.environ.setdefault("PEER_OUTCOMES_KEY_FILE", str(tmp / "bench.key"))
    generate(tmp / "export", participants=n, seed=7)
    run_etl(tmp / "export", tmp / "warehouse.duckdb")
    return tmp / "warehouse.duckdb"


def render_all(figs) -> None:
    for fig in figs:
        h = int(fig.layout.height or 440)
        fig.to_image(format="png", width=WIDTH, height=h, scale=PNG_SCALE)
        fig.to_image(format="svg", width=WIDTH, height=h)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--db", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-evidence-") as tmp:
        db = args.db or demo_warehouse(args.n, Path(tmp))
        t = time.perf_counter()
        res = compute(db, Filters())
        t_results = time.perf_counter() - t
        figs = [it.build() for it in items(res)]
        warnings.filterwarnings("ignore", message="The kopts argument is ignored")
        t = time.perf_counter()
        render_all(figs)
        t_oneshot = time.perf_counter() - t
        t = time.perf_counter()
        with image_server():
            render_all(figs)
        t_server = time.perf_counter() - t
        t = time.perf_counter()
        build_pack(db, Path(tmp) / "pack", Filters())
        t_pack = time.perf_counter() - t
        cli = Path(sys.executable).with_name("peer-outcomes")
        t = time.perf_counter()
        subprocess.run([str(cli), "evidence", "--db", str(db), "--out", str(Path(tmp) / "cli")], check=True,
                       capture_output=True)  # fmt: skip
        t_cli = time.perf_counter() - t
    n_img = 2 * len(figs)
    print(f"images ({n_img}): one-shot {t_oneshot:.1f} s, one sync server {t_server:.1f} s "
          f"-> {t_oneshot / t_server:.1f}x faster (target >= 4x)")  # fmt: skip
    print(f"whole pack: {t_pack:.1f} s (target < 5 s at 3,000, < 10 s at 100,000); published results alone "
          f"{t_results:.1f} s ({t_results / t_pack:.0%} of the pack)")  # fmt: skip
    print(f"`peer-outcomes evidence` in a new process, imports included: {t_cli:.1f} s")


if __name__ == "__main__":
    main()
