"""Server-side compute behind each page: the published results a page asks for, with a cold cache, for the
default view and for one site, timed in one fresh process (module imports included in the first page).

    .venv/bin/python benchmarks/bench_published.py --db /tmp/po-100k/warehouse.duckdb

To compare with another commit on the same machine in the same run, export it into a folder named
`peer_outcomes` (`mkdir -p /tmp/v1/peer_outcomes && git archive <commit> | tar -x -C /tmp/v1/peer_outcomes`)
and run this same file with `PYTHONPATH=/tmp/v1` (on a warehouse that commit can read), back to back with
a run without it, several times: the load on a shared machine moves more than most changes do.
`--per-query` opens a connection per query, as the dashboard did before it read each result through one
(`warehouse.reading`). The browser's view of the same pages is bench_browser.py.
"""

from __future__ import annotations

import argparse
import contextlib
import time

T0 = time.perf_counter()

from peer_outcomes.analysis import published, published_practice  # noqa: E402
from peer_outcomes.analysis.queries import Filters  # noqa: E402
from peer_outcomes.pipelines import warehouse  # noqa: E402

IMPORT_S = time.perf_counter() - T0
PAGES = {
    "Overview": ["headline"],
    "Retention": ["retention", "cohort_retention"],
    "Relapse & milestones": ["relapse_free", "competing_risks", "relapse_cox", "milestones"],
    "Engagement": ["engagement"],
    "Mentors & matching": ["mentors"],
    "Mentoring practice": ["practice"],
    "Practice: all mentors": ["mentor_practice"],  # supervision, incidents, graduates: no filters, run twice
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="an existing warehouse")
    ap.add_argument("--per-query", action="store_true", help="a connection per query, not one per result")
    ap.add_argument("--pages", nargs="+", choices=list(PAGES), default=list(PAGES), help="only these pages")
    ap.add_argument("--each", action="store_true", help="a line per published result, not per page")
    args = ap.parse_args()
    site = published.filter_options(args.db)["sites"][0]
    print(f"{args.db}: imports {IMPORT_S:.2f} s; seconds per page, cold cache (wall, and CPU of all threads)")
    print(f"{'page':24} {'everyone':>9} {'cpu':>6} {'one site':>9} {'cpu':>6}")
    for page in args.pages:
        for label, names in ([(f"  {n}", [n]) for n in PAGES[page]] if args.each else [(page, PAGES[page])]):
            row = []
            for f in (Filters(), Filters(sites=(site,))):
                start, cpu = time.perf_counter(), time.process_time()
                for name in names:
                    module = published_practice if name in ("practice", "mentor_practice") else published
                    args_ = (args.db,) if name == "mentor_practice" else (args.db, f)
                    with contextlib.nullcontext() if args.per_query else warehouse.reading(args.db):
                        getattr(module, name)(*args_)
                row += [time.perf_counter() - start, time.process_time() - cpu]
            print(f"{label:24} {row[0]:9.2f} {row[1]:6.2f} {row[2]:9.2f} {row[3]:6.2f}", flush=True)


if __name__ == "__main__":
    main()
