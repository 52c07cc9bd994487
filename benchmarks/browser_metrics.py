"""Where a page switch's time goes, in headless Chromium: for switches from the trivial page to each page
and back, the seconds until quiet (as bench_browser.py times them), the browser's main-thread busy time and
its JavaScript time (CDP `Performance.getMetrics`: TaskDuration, ScriptDuration), and the bytes and messages the
server sent over the WebSocket. Each page's first switch in a fresh tab is shown apart from the later ones'
median: it pays for code the tab has not loaded yet (the first listed page's is the tab's first switch).

    .venv/bin/python benchmarks/browser_metrics.py --db WH --pages Overview Retention --reps 4
    .venv/bin/python benchmarks/browser_metrics.py --db WH --baseline-code /tmp/old   # older code, in turn
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from urllib.parse import urlparse

from bench_browser import CHROMIUM_ARGS, WATCH_JS, arm, serve, settle, stop

COUNT_WS_JS = """
window.__ws = [0, 0];
const WS = window.WebSocket;
window.WebSocket = class extends WS { constructor(...a) { super(...a);
  this.addEventListener('message', e => { window.__ws[0] += e.data.byteLength || e.data.length || 0; window.__ws[1] += 1; }); } };
"""


def walk(url: str, pages, reps: int) -> dict[str, list[dict[str, float]]]:
    """Per page title, one row per switch to it from the trivial page (the trivial page's rows: switches back)."""
    from playwright.sync_api import sync_playwright

    trivial = next(p for p in pages if p.name == "about")
    out: dict[str, list[dict[str, float]]] = {p.title: [] for p in pages}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.set_default_timeout(180_000)
        page.add_init_script(WATCH_JS)
        page.add_init_script(COUNT_WS_JS)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        for pg in pages:  # every page computed once (the server's cache), then a fresh tab on the trivial page
            page.goto(f"{url}/{pg.url_path}", wait_until="commit")
            settle(page, 0.0)

        def metrics() -> dict[str, float]:
            got = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            ws = page.evaluate("() => window.__ws")
            return {"task": got["TaskDuration"], "script": got["ScriptDuration"], "kB": ws[0] / 1e3, "messages": ws[1]}

        for _ in range(reps):
            for pg in (q for q in pages if q is not trivial):
                for target in (pg, trivial):
                    before, start = metrics(), arm(page)
                    page.locator('[data-testid="stSidebarNav"]').get_by_text(target.title, exact=True).click()
                    page.wait_for_url(lambda u, t=target: urlparse(u).path == f"/{t.url_path}")
                    row = {"s": settle(page, start)}
                    after = metrics()
                    out[target.title].append(row | {k: after[k] - before[k] for k in before})
        browser.close()
    return out


def report(label: str, rows: dict[str, list[dict[str, float]]]) -> None:
    print(f"{label}: each page's first switch in the tab, then the median of the later ones")
    print(f"{'page':24} {'first s':>8} {'first busy':>10} {'s':>6} {'busy s':>7} {'JS s':>6} {'kB':>6} {'msgs':>5}")
    for title, rs in rows.items():
        later = rs[1:] or rs
        med = {k: statistics.median(r[k] for r in later) for k in rs[0]}
        print(f"{title:24} {rs[0]['s']:8.3f} {rs[0]['task']:10.3f} {med['s']:6.3f} {med['task']:7.3f} "
              f"{med['script']:6.3f} {med['kB']:6.1f} {med['messages']:5.0f}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True, help="an existing warehouse")
    ap.add_argument("--pages", nargs="+", metavar="TITLE", default=["Overview"], help="pages to switch to")
    ap.add_argument("--reps", type=int, default=4, help="switches to each page per tab")
    ap.add_argument("--rounds", type=int, default=1, help="fresh servers and tabs (each code in turn)")
    ap.add_argument("--port", type=int, default=8661)
    ap.add_argument("--baseline-code", type=Path, help="a checkout of older code, walked in turn with this one")
    args = ap.parse_args()
    from peer_outcomes.dashboard.app_pages import PAGES

    pages = [p for p in PAGES if p.title in args.pages or p.name == "about"]
    for r in range(args.rounds):
        for code in (None, *([args.baseline_code] if args.baseline_code else [])):
            proc = serve(args.db, args.port, code)
            try:
                report(f"round {r + 1}, {code or 'this code'}", walk(f"http://127.0.0.1:{args.port}", pages, args.reps))
            finally:
                stop(proc)


if __name__ == "__main__":
    main()
