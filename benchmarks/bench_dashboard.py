"""Server-side run time of every dashboard page at 100,000 participants, cold and warm (Streamlit AppTest).

    .venv/bin/python benchmarks/bench_dashboard.py                          # builds a 100,000-person warehouse
    .venv/bin/python benchmarks/bench_dashboard.py --db /tmp/dash100k.duckdb  # reuses a warehouse

Baseline, measured in the same process: a trivial page (`st.title` + `st.write`) run through AppTest,
which is AppTest's own overhead. Cold = the page's first run after `st.cache_data.clear()` (queries and
models run); warm = a rerun with the same filters (cache hits). Targets: warm < 1 s, cold < 5 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
APP = str(ROOT / "dashboard" / "app.py")
PAGES = ["overview", "retention", "relapse", "engagement", "mentors", "data_quality"]


def build(participants: int, where: Path) -> Path:
    """A synthetic export loaded by the real ETL."""
    from peer_outcomes.pipelines.etl import run_etl
    from peer_outcomes.pipelines.synth import generate

    os.environ.setdefault("PEER_OUTCOMES_KEY", "ab" * 32)  # a throwaway key: never a developer's real one
    generate(where / "export", participants=participants, seed=7)
    run_etl(where / "export", where / "warehouse.duckdb")
    return where / "warehouse.duckdb"


def timed(at, repeat: int = 1) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        at.run()
        runs.append(time.perf_counter() - start)
        if at.exception:
            raise SystemExit(f"page failed: {at.exception[0].value}")
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--participants", type=int, default=100_000)
    ap.add_argument("--db", type=Path, help="an existing warehouse (skips building one)")
    args = ap.parse_args()

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or build(args.participants, Path(tmp))
        os.environ["PEER_OUTCOMES_DB"] = str(db)
        trivial = AppTest.from_string("import streamlit as st\nst.title('x')\nst.write('hello')", default_timeout=60)
        timed(trivial)
        base = timed(trivial, repeat=5)
        print(f"warehouse: {db}")
        print(f"baseline (trivial page through AppTest): {base * 1000:.0f} ms\n")
        print(f"{'page':14} {'cold s':>8} {'warm s':>8} {'cold/base':>10} {'warm/base':>10}  target")
        worst_cold = worst_warm = 0.0
        for page in PAGES:
            at = AppTest.from_file(APP, default_timeout=300)
            if page != "overview":
                at.switch_page(f"app_pages/{page}.py")
            st.cache_data.clear()
            cold = timed(at)
            warm = timed(at, repeat=3)
            worst_cold, worst_warm = max(worst_cold, cold), max(worst_warm, warm)
            ok = "ok" if cold < 5 and warm < 1 else "MISSED"
            print(f"{page:14} {cold:8.2f} {warm:8.2f} {cold / base:10.0f} {warm / base:10.0f}  {ok}")
        print(f"\nworst cold {worst_cold:.2f} s (target < 5 s), worst warm {worst_warm:.2f} s (target < 1 s)")


if __name__ == "__main__":
    main()
