"""The check that a speed change left the published results of Engagement, Mentors & matching, Mentoring
practice and the evidence pack's participants served as they were: every frame, methods sentence, note and
population line, for everyone, each site, each track and the first and last enrollment period.

Save the results of one version, then of another (an older commit exported as in bench_published.py, run
with PYTHONPATH on a warehouse it can read), then compare:

    PYTHONPATH=/tmp/v0 .venv/bin/python benchmarks/same_published_practice.py save /tmp/before.pkl --db OLD.duckdb
    .venv/bin/python benchmarks/same_published_practice.py save /tmp/after.pkl --db NEW.duckdb
    .venv/bin/python benchmarks/same_published_practice.py compare /tmp/before.pkl /tmp/after.pkl

Counts, cell states and text must be identical; model estimates (hazard ratios, bounds, p) equal to a
relative 1e-9 (a weighted fit sums the same terms in another order). Columns added after are listed, and the
rest compared. Exits 1 on the first difference.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from dataclasses import replace

import numpy as np
import pandas as pd

RESULTS = ("engagement", "mentors", "practice", "participants_served")  # each (db, Filters); mentor_practice(db) once
RTOL = 1e-9


def _filters(db: str) -> list:
    from peer_outcomes.analysis import published
    from peer_outcomes.analysis.queries import Filters

    opts = published.filter_options(db)
    out = [Filters()] + [Filters(sites=(s,)) for s in opts["sites"]] + [Filters(tracks=(t,)) for t in opts["tracks"]]
    periods = opts["periods"]
    for p in (periods[:1] + periods[-1:]) if len(periods) > 1 else []:
        out.append(Filters(enrolled_from=p.start, enrolled_to=p.end))
    out.append(replace(Filters(sites=tuple(opts["sites"][:2])), tracks=tuple(opts["tracks"][:1])))
    return out


def save(db: str, path: str) -> None:
    from peer_outcomes.analysis import published, published_practice

    out = {}
    for f in _filters(db):
        for name in RESULTS:
            module = published_practice if name == "practice" else published
            pub = getattr(module, name)(db, f)
            out[(name, repr(f))] = pub
    out[("mentor_practice", "")] = published_practice.mentor_practice(db)
    with open(path, "wb") as fh:
        pickle.dump({k: (v.frames, v.methods, v.notes, v.population, v.n) for k, v in out.items()}, fh)
    print(f"{len(out)} published results saved to {path}")


def _same_frame(a: pd.DataFrame, b: pd.DataFrame, added: set[str]) -> str | None:
    """Why frame `b` differs from `a` in `a`'s columns, or None; columns only `b` has go into `added`."""
    if [c for c in b.columns if c in a.columns] != list(a.columns) or len(a) != len(b):
        return f"columns or rows differ: {list(a.columns)} x {len(a)} vs {list(b.columns)} x {len(b)}"
    added.update(c for c in b.columns if c not in a.columns)
    b = b[list(a.columns)]
    status_b = {c: v for c, v in b.attrs.get("status", {}).items() if c in a.columns}
    if a.attrs.get("status", {}) != status_b:
        return "cell states (disclosure status) differ"
    for c in a.columns:
        x, y = a[c].reset_index(drop=True), b[c].reset_index(drop=True)
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            xv, yv = x.to_numpy(float), y.to_numpy(float)
            if not np.array_equal(np.isnan(xv), np.isnan(yv)):
                return f"{c}: missing in one and not the other"
            ok = ~np.isnan(xv)
            if not np.allclose(xv[ok], yv[ok], rtol=RTOL, atol=0):
                return f"{c}: {xv[ok][~np.isclose(xv[ok], yv[ok], rtol=RTOL, atol=0)][:3]} vs {yv[ok][~np.isclose(xv[ok], yv[ok], rtol=RTOL, atol=0)][:3]}"
            if c.startswith("n") and not np.array_equal(xv[ok], yv[ok]):
                return f"{c}: counts differ"
        elif not x.astype(str).equals(y.astype(str)):
            return f"{c}: values differ"
    return None


def compare(before: str, after: str) -> int:
    with open(before, "rb") as fh:
        a = pickle.load(fh)
    with open(after, "rb") as fh:
        b = pickle.load(fh)
    if a.keys() != b.keys():
        print("The two runs published different results (filters or names).")
        return 1
    frames, added = 0, set()
    for key, (fa, ma, na, pa, nn) in a.items():
        fb, mb, nb, pb, nnb = b[key]
        if (ma, na, pa) != (mb, nb, pb) or not (nn == nnb or (np.isnan(nn) and np.isnan(nnb))):
            print(f"{key}: methods, notes, population or n differ")
            return 1
        if fa.keys() != fb.keys():
            print(f"{key}: frames {sorted(fa)} vs {sorted(fb)}")
            return 1
        for name in fa:
            if (why := _same_frame(fa[name], fb[name], added)) is not None:
                print(f"{key} {name}: {why}")
                return 1
            frames += 1
    print(f"same: {len(a)} published results, {frames} frames" + (f"; new columns: {', '.join(sorted(added))}" if added else ""))
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("save")
    s.add_argument("path")
    s.add_argument("--db", required=True)
    c = sub.add_parser("compare")
    c.add_argument("before")
    c.add_argument("after")
    args = ap.parse_args()
    if args.cmd == "save":
        save(args.db, args.path)
    else:
        sys.exit(compare(args.before, args.after))


if __name__ == "__main__":
    main()
