"""Check that a speed change left the curve pages' published results as they were: every frame, methods
sentence, note and population line of Overview, Retention and Relapse & milestones (and the Kaplan–Meier rows of
Mentors & matching), for several filters and every compare-by, saved by one revision and compared by another.

    .venv/bin/python benchmarks/same_published.py --db WH --save /tmp/before.pkl   # with the older code
    .venv/bin/python benchmarks/same_published.py --db WH --against /tmp/before.pkl

Counts, curves and text must be identical; other floats (a hazard ratio, a mean) equal to 1e-9 relative, since
summing the same numbers in another order moves the last bits. Exit 1 on any difference.
"""

from __future__ import annotations

import argparse
import pickle
import sys

import numpy as np
import pandas as pd

from peer_outcomes.analysis import published
from peer_outcomes.analysis.queries import Filters
from peer_outcomes.pipelines import warehouse

RESULTS = {
    "headline": [{}],
    "retention": [{}, *({"by": b} for b in published.GROUPINGS)],
    "relapse_free": [{}, *({"by": b} for b in published.GROUPINGS)],
    "cohort_retention": [{}],
    "competing_risks": [{}, {"by": "site"}],
    "relapse_cox": [{}],
    "milestones": [{}],
    "mentors": [{}],
}


def selections(db: str) -> list[Filters]:
    """Everyone, one site, one track, the second period choice, and a site with a track."""
    opts = published.filter_options(db)
    out = [Filters(), Filters(sites=(opts["sites"][0],)), Filters(tracks=(opts["tracks"][0],))]
    if len(opts["periods"]) > 1:
        out.append(Filters(enrolled_from=opts["periods"][1].start, enrolled_to=opts["periods"][-2].end))
    out.append(Filters(sites=(opts["sites"][-1],), tracks=(opts["tracks"][-1],)))
    return out


def snapshot(db: str) -> dict[str, object]:
    out: dict[str, object] = {}
    for f in selections(db):
        for name, variants in RESULTS.items():
            for kwargs in variants:
                with warehouse.reading(db):
                    pub = getattr(published, name)(db, f, **kwargs)
                key = f"{name}{kwargs} {f}"
                out[key] = {"frames": {k: (v.reset_index(drop=True), v.attrs.get("status", {}))
                                       for k, v in pub.frames.items()},
                            "text": (pub.methods, pub.technical, pub.population, pub.notes, pub.n)}
    return out


def frame_differences(a: pd.DataFrame, b: pd.DataFrame) -> str | None:
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return f"shape or columns {list(a.columns)} x {len(a)} vs {list(b.columns)} x {len(b)}"
    for c in a.columns:
        x, y = a[c], b[c]
        if pd.api.types.is_float_dtype(x) and pd.api.types.is_numeric_dtype(y):
            if not np.allclose(x.to_numpy(float), y.to_numpy(float), rtol=1e-9, atol=0, equal_nan=True):
                return f"column {c}: max difference {np.nanmax(np.abs(x.to_numpy(float) - y.to_numpy(float)))}"
        elif not x.astype(object).where(x.notna(), None).equals(y.astype(object).where(y.notna(), None)):
            return f"column {c} differs"
    return None


def compare(before: dict, after: dict) -> list[str]:
    out = [f"only in one: {k}" for k in sorted(set(before) ^ set(after))]
    for key in sorted(set(before) & set(after)):
        a, b = before[key], after[key]
        if a["text"][:4] != b["text"][:4] or not (a["text"][4] == b["text"][4] or np.isnan(a["text"][4]) and np.isnan(b["text"][4])):
            out.append(f"{key}: text differs: {a['text']} vs {b['text']}")
        for name in sorted(set(a["frames"]) | set(b["frames"])):
            if name not in a["frames"] or name not in b["frames"]:
                out.append(f"{key} {name}: only in one")
                continue
            (fa, sa), (fb, sb) = a["frames"][name], b["frames"][name]
            why = frame_differences(fa, fb)
            if why:
                out.append(f"{key} {name}: {why}")
            if sa != sb:
                out.append(f"{key} {name}: cell statuses differ")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--save", help="write this revision's results to a file")
    ap.add_argument("--against", help="compare this revision's results with a saved file")
    args = ap.parse_args()
    now = snapshot(args.db)
    if args.save:
        with open(args.save, "wb") as fh:
            pickle.dump(now, fh)
        print(f"{len(now)} results saved to {args.save}")
    if args.against:
        with open(args.against, "rb") as fh:
            diffs = compare(pickle.load(fh), now)
        print("\n".join(diffs) or f"{len(now)} results: all equal")
        sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
