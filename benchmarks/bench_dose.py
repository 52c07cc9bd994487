"""The time-varying dose model at 100,000 participants: ours vs lifelines' CoxTimeVaryingFitter vs R, same rows.

    .venv/bin/python benchmarks/bench_dose.py                           # builds a 100,000-person warehouse
    .venv/bin/python benchmarks/bench_dose.py --db /tmp/dose100k/warehouse.duckdb   # reuses a warehouse
    .venv/bin/python benchmarks/bench_dose.py --db /tmp/dose100k/warehouse.duckdb --page-only

Then, and alone with --page-only: the page's path, fetch included, from the participant-weeks (as before the
per-cell aggregates) and from aggregates.week_counts (weighted), same run, with their ratio.

The rows: marts.dose_weekly (one per participant-week, (start_days, stop_days], is_relapse) with the previous
week's sessions, as the Engagement page builds them (about 1.4 million rows at 100,000 participants). Two
models: the page's (previous week's sessions) and notebook 03's mix (previous week's sessions by format,
four columns). Contenders, each on the same frame in the same run, interleaved so load from other
processes falls on all alike: ours (`analysis.dose.fit_time_varying_cox`, estimability checks included);
lifelines `CoxTimeVaryingFitter` at the project's precision (the baseline: the ratio column is time /
lifelines); R `coxph(Surv(start, stop, event) ~ ..., ties = "efron")` if `Rscript` is on the PATH, from a
temporary CSV, timed inside R around `coxph` only (reading the CSV excluded), iterated to the optimum like
ours (eps 1e-12). Best of `--repeat` rounds (lifelines: `--lifelines-repeat`, once by default: ~45 s a fit).
Also printed: the largest |difference| of coefficients and SEs against R and lifelines, and the target
(ours ≤ 3 s per fit at 100,000 participants).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peer_outcomes.analysis.cox import FIT_OPTIONS  # noqa: E402
from peer_outcomes.analysis.dose import fit_time_varying_cox  # noqa: E402

FORMATS = ["n_one_on_one", "n_group", "n_online", "n_workshop"]
MODELS = {"page: previous week's sessions": ["prev_n_attended"],
          "notebook 03: by format (4 columns)": [f"prev_{c}" for c in FORMATS]}
TARGET_S = 3.0
R_SCRIPT = """
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
covs <- strsplit(args[2], ",")[[1]]
form <- as.formula(paste("Surv(start, stop, event) ~", paste(covs, collapse = " + ")))
ctl <- coxph.control(eps = 1e-12, toler.chol = 1e-14, iter.max = 100)
for (i in seq_len(as.integer(args[3]))) {
  t <- system.time(f <- coxph(form, data = d, ties = "efron", control = ctl))[["elapsed"]]
  cat("time", t, "\\n")
}
cat("coef", coef(f), "\\n")
cat("se", sqrt(diag(vcov(f))), "\\n")
"""


def build(participants: int, where: Path) -> Path:
    """A synthetic export of `participants` people loaded by the real ETL (about 90 s at 100,000)."""
    from peer_outcomes.pipelines.etl import run_etl
    from peer_outcomes.pipelines.synth import generate

    os.environ.setdefault("PEER_OUTCOMES_KEY", "ab" * 32)  # a throwaway key: never a developer's real one
    generate(where / "export", participants=participants, seed=1)
    run_etl(where / "export", where / "warehouse.duckdb")
    return where / "warehouse.duckdb"


def dose_rows(db: Path) -> pd.DataFrame:
    """Every participant's weekly rows with the previous week's sessions, in total and by format."""
    lags = ", ".join(f"coalesce(lag({c}) over w, 0) as prev_{c}" for c in ["n_attended", *FORMATS])
    sql = (f"select participant_key, start_days, stop_days, is_relapse::integer as is_relapse, {lags} "
           "from marts.dose_weekly window w as (partition by participant_key order by week)")
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


def ours(rows: pd.DataFrame, covs: list[str]) -> tuple[np.ndarray, np.ndarray]:
    fit = fit_time_varying_cox(rows, "participant_key", "start_days", "stop_days", "is_relapse", covs)
    return fit.summary["coef"].to_numpy(), fit.summary["se"].to_numpy()


def lifelines(rows: pd.DataFrame, covs: list[str]) -> tuple[np.ndarray, np.ndarray]:
    from lifelines import CoxTimeVaryingFitter

    frame = rows[["participant_key", "start_days", "stop_days", "is_relapse", *covs]]
    ctv = CoxTimeVaryingFitter().fit(frame, id_col="participant_key", event_col="is_relapse",
                                     start_col="start_days", stop_col="stop_days", fit_options=FIT_OPTIONS)
    return ctv.params_[covs].to_numpy(), ctv.standard_errors_[covs].to_numpy()


def r_coxph(csv: Path, covs: list[str], repeat: int, workdir: Path) -> tuple[list[float], np.ndarray, np.ndarray]:
    """R's coxph times (inside R, CSV read excluded) and its coefficients and SEs."""
    script = workdir / "bench_dose.R"
    script.write_text(R_SCRIPT)
    out = subprocess.run(["Rscript", str(script), str(csv), ",".join(covs), str(repeat)],
                         capture_output=True, text=True, check=True).stdout
    lines = {ln.split()[0]: [float(v) for v in ln.split()[1:]] for ln in out.splitlines() if ln.strip()}
    times = [float(ln.split()[1]) for ln in out.splitlines() if ln.startswith("time")]
    return times, np.array(lines["coef"]), np.array(lines["se"])


def timed(fn, *args) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--participants", type=int, default=100_000)
    ap.add_argument("--db", type=Path, help="an existing warehouse (skips building one)")
    ap.add_argument("--repeat", type=int, default=3, help="rounds for ours and R (best is shown)")
    ap.add_argument("--lifelines-repeat", type=int, default=1, help="lifelines fits per model (0 skips it)")
    ap.add_argument("--no-r", action="store_true", help="skip R even if Rscript is present")
    ap.add_argument("--page-only", action="store_true", help="only the page's path (needs --db, built with aggregates)")
    args = ap.parse_args()
    use_r = not args.no_r and shutil.which("Rscript") is not None
    if args.page_only and args.db:
        page_path(args.db, args.repeat)
        return

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = args.db or build(args.participants, work)
        rows = dose_rows(db)
        print(f"warehouse: {db}")
        print(f"rows: {len(rows):,} participant-weeks of {rows['participant_key'].nunique():,} participants, "
              f"{int(rows['is_relapse'].sum()):,} relapses, {rows.loc[rows['is_relapse'] == 1, 'stop_days'].nunique()} "
              "distinct event days\n")
        csv = work / "dose_rows.csv"
        if use_r:
            rows.drop(columns="participant_key").rename(
                columns={"start_days": "start", "stop_days": "stop", "is_relapse": "event"}).to_csv(csv, index=False)
        header = f"{'model':38} {'contender':10} {'best s':>8} {'/ lifelines':>12} {'max|Δcoef|':>11} {'max|ΔSE|':>10}"
        print(header)
        for name, covs in MODELS.items():
            best: dict[str, float] = {}
            est: dict[str, tuple[np.ndarray, np.ndarray]] = {}
            for r in range(max(args.repeat, args.lifelines_repeat)):
                # one round: each contender once, in turn (R's rounds run in one R process, after ours)
                if r < args.repeat:
                    t, est["ours"] = timed(ours, rows, covs)
                    best["ours"] = min(best.get("ours", t), t)
                if r < args.lifelines_repeat:
                    t, est["lifelines"] = timed(lifelines, rows, covs)
                    best["lifelines"] = min(best.get("lifelines", t), t)
            if use_r:
                times, coef, se = r_coxph(csv, covs, args.repeat, work)
                best["R coxph"], est["R coxph"] = min(times), (coef, se)
            ref = est.get("R coxph", est.get("lifelines"))
            base = best.get("lifelines")
            for who in ("ours", "lifelines", "R coxph"):
                if who not in best:
                    continue
                ratio = f"{best[who] / base:12.3f}" if base else f"{'-':>12}"
                dc = ds = "-"
                if ref is not None and who != ("R coxph" if use_r else "lifelines"):
                    dc = f"{np.max(np.abs(est[who][0] - ref[0])):.1e}"
                    ds = f"{np.max(np.abs(est[who][1] - ref[1])):.1e}"
                print(f"{name:38} {who:10} {best[who]:8.2f} {ratio} {dc:>11} {ds:>10}")
            if "R coxph" in best:
                print(f"{'':38} ours / R coxph = {best['ours'] / best['R coxph']:.3f}")
            ok = "met" if best["ours"] <= TARGET_S else "MISSED"
            print(f"{'':38} target ours ≤ {TARGET_S:.0f} s: {ok}\n")
        print("Δ: against R when it ran, else against lifelines. lifelines stops on its Newton decrement, "
              "~1e-6 short of the optimum.")
        page_path(db, args.repeat)


def page_path(db: Path, repeat: int) -> None:
    """The Engagement page's dose model as the page gets it, fetch included, everyone and one site: from the
    participant-weeks (queries.dose_rows, the lag in numpy: the page before aggregates) against the rows
    counted per cell (queries.week_counts, weighted), interleaved, best of `repeat`; and the largest
    difference of the estimates (the same model, summed in another order)."""
    from peer_outcomes.analysis import published, queries
    from peer_outcomes.analysis.population import enrollment_periods, snap
    from peer_outcomes.analysis.queries import Filters
    from peer_outcomes.pipelines import warehouse

    def from_rows(f: Filters) -> np.ndarray:
        rows = queries.dose_rows(db, f)
        queries.dose_bands(rows)
        res = fit_time_varying_cox(rows, "participant_key", "start_days", "stop_days", "is_relapse", ["prev_week_sessions"])
        return res.summary[["hr", "hr_lower_95", "p"]].to_numpy(float)

    def from_cells(f: Filters) -> np.ndarray:
        queries.week_bands(db, f, "sessions_last_week")
        people = int(queries.week_bands(db, f, "any_week")["n_people"].sum())
        rows = queries.week_counts(db, f, ["n_attended_prev_week"])
        res = fit_time_varying_cox(rows, None, "start_days", "stop_days", "is_relapse", ["n_attended_prev_week"],
                                   weights="n_rows", n_people=people)  # fmt: skip
        return res.summary[["hr", "hr_lower_95", "p"]].to_numpy(float)

    site = published.filter_options(db)["sites"][0]
    print("\nthe page's path (fetch, bands and fit), best of", repeat)
    print(f"{'selection':12} {'participant-weeks s':>20} {'cells s':>8} {'cells / weeks':>14} {'max rel Δ':>10}")
    for label, f in (("everyone", Filters()), ("one site", Filters(sites=(site,)))):
        f = snap(f, enrollment_periods(db))
        best = {"weeks": np.inf, "cells": np.inf}
        out = {}
        for _ in range(repeat):
            for name, fn in (("weeks", from_rows), ("cells", from_cells)):
                with warehouse.reading(db):
                    t, out[name] = timed(fn, f)
                best[name] = min(best[name], t)
        delta = np.max(np.abs(out["cells"] - out["weeks"]) / np.abs(out["weeks"]))
        print(f"{label:12} {best['weeks']:20.2f} {best['cells']:8.2f} {best['cells'] / best['weeks']:14.3f} {delta:10.1e}")


if __name__ == "__main__":
    main()
