"""What a director feels: every dashboard page timed in headless Chromium, cold, by sidebar switch and by
filter change, from the click until the page is quiet.

    .venv/bin/python benchmarks/bench_browser.py                            # 100,000 people, built once in data/bench/
    .venv/bin/python benchmarks/bench_browser.py --db /tmp/dash100k.duckdb  # any existing warehouse
    .venv/bin/python benchmarks/bench_browser.py --participants 3000 --rounds 3
    .venv/bin/python benchmarks/bench_browser.py --db WH --cold --pages Overview Retention "Relapse & milestones"

"Quiet": the page has changed since the click, no element is marked stale, no running-status widget or
skeleton shows, every plotly chart is drawn, and nothing in the page changes for 400 ms (the page: the app's
root, not `<head>`, a library's hidden elements in `<body>` or the hidden preload of element code); the time taken
is that of the last change (the 400 ms hold is not counted). Cold is the first visit of each page after the server starts (no
cache); a switch is a click on the page's sidebar link; a filter change picks a site, then a track, then
the second period choice ("Last 12 months"), then "All" again (the median of the four). The baseline is the app's most trivial page ("About these numbers": text only),
served by the same server and timed the same way in the same run, so every figure is also a ratio.
Targets (issue 14): switch and filter ≤ 1 s, cold ≤ 3 s, slowest page ≤ 3× the trivial one.

In a round, only the first page's cold visit is the server's first (imports, first connection, first
query compile); the later ones find them paid. `--cold` times what a visit right after a start costs: for
each page (the trivial one too), a server started for it alone and that one visit. `--pages` limits the walk to
some pages (the trivial one is always timed, as the baseline). `--baseline-code DIR` (a checkout of older code,
e.g. `git worktree add /tmp/old main~3`) serves the same walk from that code too, round by round in turn with
this code (with `--cold`, visit by visit), and prints each page's seconds as this code / older code, so the
ratio holds on a loaded machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
WATCH_JS = """
window.__busySeen = false; window.__lastMutation = performance.now();
new MutationObserver(records => {
  // What a reader can see is the app (#root) but its hidden preload: style and module tags in <head>, or the
  // hidden test elements a library appends to <body> as its code loads, are not the page.
  const seen = records.some(r => {
    const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
    return el && el.closest('#root') && !el.closest('.st-key-po-preload');
  });
  if (seen) { window.__busySeen = true; window.__lastMutation = performance.now(); }
}).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""
QUIET_JS = """() => {
  const busy = document.querySelector('[data-stale="true"], [data-testid="stSkeleton"], [data-testid="stStatusWidget"]');
  const drawn = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(c => c.querySelector('.main-svg'));
  if (!window.__busySeen || busy || !drawn || !document.querySelector('[data-testid="stMain"] h1')) return false;
  return performance.now() - window.__lastMutation >= 400 ? window.__lastMutation : false;
}"""


BENCH_DATA = Path(__file__).resolve().parents[1] / "data" / "bench"  # git-ignored, like every generated file


def build(participants: int, where: Path, rebuild: bool = False) -> Path:
    """The synthetic program of `participants` (seed 1) loaded by the real ETL into `where`, built once and
    reused by later runs (`--rebuild` builds it again, e.g. after the marts changed). A throwaway key is
    used, never a developer's real one."""
    from peer_outcomes.pipelines.etl import run_etl
    from peer_outcomes.pipelines.synth import generate

    db = where / "warehouse.duckdb"
    if db.exists() and not rebuild:
        return db
    os.environ.setdefault("PEER_OUTCOMES_KEY", "ab" * 32)
    shutil.rmtree(where, ignore_errors=True)
    generate(where / "export", participants=participants, seed=1)
    run_etl(where / "export", db)
    return db


def serve(db: Path, port: int, code: Path | None = None) -> subprocess.Popen:
    """`peer-outcomes dashboard` on `port`, from this checkout or from the checkout `code`."""
    cli = Path(sys.executable).with_name("peer-outcomes")
    proc = subprocess.Popen([str(cli), "dashboard", "--db", str(db), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env=code_env(code) if code else None)  # fmt: skip
    for _ in range(240):
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                return proc
        except OSError:
            time.sleep(0.25)
    proc.kill()
    raise SystemExit("the dashboard did not start")


def code_env(src: Path) -> dict:
    """An environment in which `import peer_outcomes` finds the checkout `src` (the package is its root folder)."""
    link = BENCH_DATA / "baseline-code"
    link.mkdir(parents=True, exist_ok=True)
    pkg = link / "peer_outcomes"
    if pkg.is_symlink() and pkg.resolve() != src.resolve():
        pkg.unlink()
    if not pkg.exists():
        pkg.symlink_to(src.resolve(), target_is_directory=True)
    return os.environ | {"PYTHONPATH": str(link)}


def stop(proc: subprocess.Popen) -> None:
    """Stop the server and everything it started (its own session), waiting as long as a loaded machine needs."""
    for sig, wait in ((signal.SIGTERM, 60), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


TIMEOUT_S = 180  # per page; --timeout raises it on a machine under heavy load


def settle(page, start: float) -> float:
    """Seconds from `start` (performance.now(), ms) until the page is quiet."""
    quiet = page.wait_for_function(QUIET_JS, polling=25, timeout=TIMEOUT_S * 1000).json_value()
    if page.locator('[data-testid="stException"]').count():
        raise SystemExit(f"{page.url} raised an exception")
    return (quiet - start) / 1000


def arm(page) -> float:
    page.evaluate("() => { window.__busySeen = false; }")
    return page.evaluate("() => performance.now()")


def run_round(url: str, pages, shots: Path | None) -> dict[str, dict[str, float]]:
    from playwright.sync_api import sync_playwright

    out: dict[str, dict[str, float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.set_default_timeout(TIMEOUT_S * 1000)  # every wait (a page switch's URL too), not Playwright's 30 s
        page.add_init_script(WATCH_JS)  # every document records its last DOM change
        for pg in pages:  # cold: a fresh navigation to each page, its first visit since the server started
            page.goto("about:blank")
            page.goto(f"{url}/{pg.url_path}", wait_until="commit")
            out[pg.title] = {"cold": settle(page, 0.0)}  # performance.now() counts from the navigation
        for pg in pages:  # sidebar switch, the way a user moves
            start = arm(page)
            page.locator('[data-testid="stSidebarNav"]').get_by_text(pg.title, exact=True).click()
            page.wait_for_url(lambda u, pg=pg: urlparse(u).path == f"/{pg.url_path}")
            out[pg.title]["switch"] = settle(page, start)
            if shots:
                page.screenshot(path=str(shots / f"{pg.name}.png"), full_page=True)
            filt = []
            for label in ("Sites", "Tracks"):
                box = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').filter(has_text=label)
                if not box.count():
                    continue
                start = arm(page)
                box.first.click()
                page.locator('[role="option"]').first.click()
                page.keyboard.press("Escape")
                filt.append(settle(page, start))
            # the choices' labels only: the first label of the widget is its name ("Enrolled"), which a click
            # leaves as it was (this walk once clicked it and "All", timing two clicks that changed nothing)
            period = page.locator('[data-testid="stSidebar"] [data-testid="stRadio"] [role="radiogroup"] label')
            if period.count() > 1:  # a recent stretch, then everyone again
                for i in (1, 0):
                    start = arm(page)
                    period.nth(i).click()
                    filt.append(settle(page, start))
            out[pg.title]["filter"] = statistics.median(filt) if filt else float("nan")
            for label in ("Sites", "Tracks"):  # back to everyone before the next page
                clear = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').filter(
                    has_text=label).locator('[aria-label="Clear all"], [title="Clear all"]')  # fmt: skip
                if clear.count():
                    start = arm(page)
                    clear.first.click()
                    settle(page, start)
        browser.close()
    return out


def cold_visit(url: str, pg) -> float:
    """Seconds from navigation until `pg` is quiet, in a fresh browser, on a server that served nothing yet."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.set_default_timeout(TIMEOUT_S * 1000)
        page.add_init_script(WATCH_JS)
        page.goto(f"{url}/{pg.url_path}", wait_until="commit")
        seconds = settle(page, 0.0)
        browser.close()
    return seconds


def cold_rounds(db: Path, port: int, pages, rounds: int, older_code: Path | None = None) -> None:
    """`--cold`: each page on a server started for it alone; medians over `rounds`, and ratios to the trivial
    page. With `older_code`, each visit is made from that code too, right after this code's (the same page, the
    same load on the machine), and a second table gives its seconds and this code / older code."""
    base = next(p for p in pages if p.name == "about")
    codes = (None, older_code) if older_code else (None,)
    times: dict[Path | None, dict[str, list[float]]] = {c: {p.title: [] for p in pages} for c in codes}
    for r in range(rounds):
        for pg in pages:
            for code in codes:
                proc = serve(db, port, code)
                try:
                    times[code][pg.title].append(cold_visit(f"http://127.0.0.1:{port}", pg))
                finally:
                    stop(proc)
        for code in codes:
            print(f"round {r + 1}{' (baseline code)' if code else ''}: "
                  + ", ".join(f"{t} {v[-1]:.2f}" for t, v in times[code].items()), flush=True)  # fmt: skip
    med = {c: {t: statistics.median(v) for t, v in times[c].items()} for c in codes}
    print(f"{db}: {rounds} rounds, a server started for each visit; medians; ratio = page / '{base.title}'")
    print(f"{'page':28} {'cold s':>7} {'cold ×':>7}")
    for t, m in med[None].items():
        print(f"{t:28} {m:7.2f} {m / med[None][base.title]:7.1f}")
    if older_code:
        print(f"baseline code {older_code}, each visit right after this code's: seconds, and this code / baseline code")
        print(f"{'page':28} {'cold s':>7} {'this/old':>9}")
        for t, m in med[older_code].items():
            print(f"{t:28} {m:7.2f} {med[None][t] / m:9.2f}")


def main() -> None:
    global TIMEOUT_S
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--participants", type=int, default=100_000)
    ap.add_argument("--db", type=Path, help="an existing warehouse (skips building one)")
    ap.add_argument("--rebuild", action="store_true", help="build the synthetic warehouse again")
    ap.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds a page may take to settle")
    ap.add_argument("--rounds", type=int, default=3, help="server restarts; each gives one cold figure")
    ap.add_argument("--port", type=int, default=8660)
    ap.add_argument("--shots", type=Path, help="folder for a screenshot of every page")
    ap.add_argument("--pages", nargs="+", metavar="TITLE", help="only these pages (titles), and the trivial one")
    ap.add_argument("--cold", action="store_true", help="only cold visits, each on a server just started for it")
    ap.add_argument("--baseline-code", type=Path, help="a checkout of older code, walked in turn with this one")
    args = ap.parse_args()
    TIMEOUT_S = args.timeout
    from peer_outcomes.dashboard.app_pages import PAGES

    if args.pages:
        unknown = set(args.pages) - {p.title for p in PAGES}
        if unknown:
            raise SystemExit(f"No page is called {', '.join(sorted(unknown))}: the pages are {', '.join(p.title for p in PAGES)}.")
        PAGES = tuple(p for p in PAGES if p.title in args.pages or p.name == "about")  # noqa: N806

    db = args.db or build(args.participants, BENCH_DATA / f"browser-{args.participants}", args.rebuild)
    if args.cold:
        cold_rounds(db, args.port, PAGES, args.rounds, args.baseline_code)
        return
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
    rounds, older = [], []
    for _ in range(args.rounds):
        for code, out in ((None, rounds), *([(args.baseline_code, older)] if args.baseline_code else [])):
            proc = serve(db, args.port, code)
            try:
                out.append(run_round(f"http://127.0.0.1:{args.port}", PAGES, None if code else args.shots))
                print(f"round {len(out)}{' (baseline code)' if code else ''}: {out[-1]}", flush=True)
            finally:
                stop(proc)
    titles = [p.title for p in PAGES]
    base = next(p.title for p in PAGES if p.name == "about")
    med = medians(rounds, titles)
    print(f"{db}: {args.rounds} rounds, medians; ratio = page / '{base}' in the same round")
    table(med, {t: med[base] for t in titles}, 1)
    slowest = max(titles, key=lambda t: med[t]["switch"])
    print(f"slowest switch: {slowest}, {med[slowest]['switch'] / med[base]['switch']:.1f}× the trivial page")
    if older:
        old = medians(older, titles)
        print(f"baseline code {args.baseline_code}, same rounds in turn: seconds, and this code / baseline code")
        table(old, med, 2, invert=True)


KINDS = ("cold", "switch", "filter")


def medians(rounds: list[dict], titles: list[str]) -> dict[str, dict[str, float]]:
    """Each page's median seconds per kind of visit over `rounds`."""
    return {t: {k: statistics.median(r[t][k] for r in rounds) for k in KINDS} for t in titles}


def table(shown: dict, other: dict, digits: int, invert: bool = False) -> None:
    """A line per page: the `shown` seconds, then shown / other (other / shown when `invert`: this code over the
    baseline code's seconds, which are the ones shown)."""
    print(f"{'page':28} {'cold s':>7} {'switch s':>9} {'filter s':>9} {'cold ×':>7} {'switch ×':>9} {'filter ×':>9}")
    for t, m in shown.items():
        o = other[t]
        ratios = [(o[k] / m[k]) if invert else (m[k] / o[k]) for k in KINDS]
        print(f"{t:28} {m['cold']:7.2f} {m['switch']:9.2f} {m['filter']:9.2f} {ratios[0]:7.{digits}f} "
              f"{ratios[1]:9.{digits}f} {ratios[2]:9.{digits}f}")  # fmt: skip


if __name__ == "__main__":
    main()
