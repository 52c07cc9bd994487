"""Benchmark the evidence pack; prints seconds and ratios against baselines timed in the same run.

1. Images: the pack's charts as PNG + SVG in one browser page (`render.Painter`, what `build_pack` does)
   vs the baseline, kaleido's sync server (plotly's `to_image`), which reloads its page after every image.
2. `peer-outcomes evidence` as a user runs it (a new process: Python start-up and imports included), the
   median of `--repeat` runs, wall clock and CPU (the process and its browser). Baseline: a new process that
   imports the CLI and reads the warehouse's settings (the floor of any command). Targets (issue 14): < 5 s
   for the 3,000-person demo, < 10 s at 100,000, on two cores.
3. With `--baseline-code DIR` (a checkout of an older commit, e.g. `git worktree add /tmp/old main~3`), the
   same command from that code, alternated with this one run by run, so the ratio holds on a loaded machine.

4. With `--phases`, only where the time goes: one pack built in this process, printing when the browser is
   up, each result computed (seconds on its thread), each chart made, each image drawn and the PDF written,
   from the start of `build_pack`; and the process's CPU seconds and its browser's.

The warehouse: `--db` if given, else a synthetic export of `--n` participants loaded by the real ETL into a
temporary folder (with a throwaway pseudonym key).

    .venv/bin/python benchmarks/bench_evidence.py                                   # 3,000 people, built here
    .venv/bin/python benchmarks/bench_evidence.py --db /tmp/po-100k/warehouse.duckdb --repeat 3
    .venv/bin/python benchmarks/bench_evidence.py --db /tmp/po-100k/warehouse.duckdb --phases
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peer_outcomes.analysis.queries import Filters  # noqa: E402
from peer_outcomes.dashboard.evidence import PNG_SCALE, WIDTH, compute, items  # noqa: E402
from peer_outcomes.dashboard.render import Painter  # noqa: E402
from peer_outcomes.pipelines import warehouse  # noqa: E402

FLOOR = ("from peer_outcomes.dashboard import cli; from peer_outcomes.analysis import queries; import sys; "
         "queries.settings(sys.argv[1])")  # fmt: skip
CLI = "import sys; from peer_outcomes.dashboard.cli import main; sys.argv[0] = 'peer-outcomes'; main()"


def demo_warehouse(n: int, tmp: Path) -> Path:
    from peer_outcomes.pipelines.etl import run_etl
    from peer_outcomes.pipelines.synth import generate

    os.environ.setdefault("PEER_OUTCOMES_KEY_FILE", str(tmp / "bench.key"))
    generate(tmp / "export", participants=n, seed=7)
    run_etl(tmp / "export", tmp / "warehouse.duckdb")
    return tmp / "warehouse.duckdb"


def specs(db: Path) -> list[tuple[dict, int]]:
    with warehouse.reading(db):
        figs = [it.build() for it in items(compute(db, Filters()))]
    return [(fig.to_dict(), int(fig.layout.height or 440)) for fig in figs]


def images_sync_server(figs: list[tuple[dict, int]]) -> float:
    import kaleido
    import plotly.io as pio

    t = time.perf_counter()
    kaleido.start_sync_server(silence_warnings=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The kopts argument is ignored")
        for spec, h in figs:
            pio.to_image(spec, format="png", width=WIDTH, height=h, scale=PNG_SCALE, validate=False)
            pio.to_image(spec, format="svg", width=WIDTH, height=h, validate=False)
    kaleido.stop_sync_server(silence_warnings=True)
    return time.perf_counter() - t


def images_painter(figs: list[tuple[dict, int]], tmp: Path) -> float:
    t = time.perf_counter()
    with Painter() as painter:
        done = [painter.render(spec, tmp / f"{i}.{fmt}", fmt, WIDTH, h, PNG_SCALE if fmt == "png" else 1)
                for i, (spec, h) in enumerate(figs) for fmt in ("png", "svg")]  # fmt: skip
        for d in done:
            d.result()
    return time.perf_counter() - t


def phases(db: Path, out: Path) -> None:
    """`--phases`: one pack, with a line per step (seconds since `build_pack` started, the thread, what)."""
    import threading

    from peer_outcomes.dashboard import evidence, render

    t0 = time.perf_counter()

    def log(what: str) -> None:
        print(f"{time.perf_counter() - t0:6.2f} s  {threading.current_thread().name[:12]:12}  {what}", flush=True)

    def timing(fn, what):  # noqa: ANN001, ANN202 - a wrapper that logs each call's seconds
        def wrapped(*a, **k):  # noqa: ANN002, ANN003, ANN202
            t = time.perf_counter()
            out = fn(*a, **k)
            log(f"{what(*a)} ({time.perf_counter() - t:.2f} s)")
            return out
        return wrapped

    opened, drawn = render.Painter._open, render.Painter.render

    async def _open():  # noqa: ANN202
        browser = await opened()
        log("browser up")
        return browser

    def _render(self, spec, path, fmt, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        future = drawn(self, spec, path, fmt, *a, **k)
        future.add_done_callback(lambda _: log(f"  drew {path.name}"))
        return future

    render.Painter._open = staticmethod(_open)
    render.Painter.render = _render
    evidence._published = timing(evidence._published, lambda db, f, fn, what: f"computed {getattr(fn, '__name__', fn)}")
    evidence._Charts.add = timing(evidence._Charts.add, lambda self, res, key: f"charts and CSVs of {key}")
    evidence.write_report = timing(evidence.write_report, lambda report, path, *a: "wrote report.pdf")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time()
    log("build_pack starts (imports done)")
    evidence.build_pack(db, out, Filters())
    log("pack written, browser closed")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"CPU: this process {time.process_time() - cpu:.2f} s, its browser "
          f"{after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime:.2f} s")


def timed(args: list[str], env: dict | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (the process and every child it waited for, e.g. the browser) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=env)
    if done.returncode:  # say why, not only that it failed
        raise SystemExit(f"{' '.join(args[3:])} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def code_env(src: Path, tmp: Path) -> dict:
    """An environment in which `import peer_outcomes` finds the checkout `src` (the package is its root folder)."""
    link = tmp / "baseline-path"
    link.mkdir(exist_ok=True)
    if not (link / "peer_outcomes").exists():
        (link / "peer_outcomes").symlink_to(src.resolve(), target_is_directory=True)
    return os.environ | {"PYTHONPATH": str(link)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000, help="participants of the synthetic warehouse (without --db)")
    ap.add_argument("--db", type=Path, help="an existing warehouse")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each command (the median is shown)")
    ap.add_argument("--baseline-code", type=Path, help="a checkout of older code to time the same command with")
    ap.add_argument("--phases", action="store_true", help="only a timeline of one pack's steps, in this process")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-evidence-") as tmp_name:
        tmp = Path(tmp_name)
        db = (args.db or demo_warehouse(args.n, tmp)).resolve()
        if args.phases:
            phases(db, tmp / "pack")
            return
        figs = specs(db)
        t_sync = images_sync_server(figs)
        t_paint = images_painter(figs, tmp)
        py = sys.executable
        runs: dict[str, list[tuple[float, float]]] = {"floor": [], "pack": [], "baseline": []}
        for r in range(args.repeat):
            runs["floor"].append(timed([py, "-c", FLOOR, str(db)]))
            runs["pack"].append(timed([py, "-c", CLI, "evidence", "--db", str(db), "--out", str(tmp / f"pack{r}")]))
            if args.baseline_code:
                runs["baseline"].append(timed([py, "-c", CLI, "evidence", "--db", str(db), "--out", str(tmp / f"old{r}")],
                                              env=code_env(args.baseline_code, tmp)))  # fmt: skip

    def med(key: str, i: int) -> float:
        return statistics.median(run[i] for run in runs[key])

    print(f"warehouse {db} ({len(figs)} charts, {2 * len(figs)} images)")
    print(f"images: kaleido sync server {t_sync:.1f} s, one page (render.Painter) {t_paint:.1f} s "
          f"-> {t_sync / t_paint:.1f}x faster")  # fmt: skip
    print(f"`peer-outcomes evidence` (median of {args.repeat}): {med('pack', 0):.1f} s wall, {med('pack', 1):.1f} s CPU; "
          f"floor (a new process that imports the CLI and reads the settings) {med('floor', 0):.1f} s wall "
          f"-> pack = {med('pack', 0) / med('floor', 0):.1f}x the floor")  # fmt: skip
    if runs["baseline"]:
        print(f"baseline code {args.baseline_code}: {med('baseline', 0):.1f} s wall, {med('baseline', 1):.1f} s CPU "
              f"-> this code takes {med('pack', 0) / med('baseline', 0):.2f}x the wall and "
              f"{med('pack', 1) / med('baseline', 1):.2f}x the CPU")  # fmt: skip
    print("targets: < 5 s for the 3,000-person demo, < 10 s at 100,000 (wall, on a quiet two-core machine)")


if __name__ == "__main__":
    main()
