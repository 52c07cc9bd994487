"""The dashboard in a real browser: `peer-outcomes dashboard` on 127.0.0.1 and a free port, every page
opened in headless Debian Chromium, screenshots saved to tests/e2e/screenshots/ (git-ignored)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from peer_outcomes.dashboard.app_pages import PAGES

pytestmark = pytest.mark.e2e

SHOTS = Path(__file__).parent / "screenshots"
CHART_PAGES = [p for p in PAGES if p.charts]  # the Evidence page is walked on its own below
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(db: Path) -> Iterator[str]:
    """`peer-outcomes dashboard --db db` on a free port of 127.0.0.1 until the block ends; yields its URL."""
    port = _free_port()
    cli = Path(sys.executable).with_name("peer-outcomes")
    proc = subprocess.Popen(
        [str(cli), "dashboard", "--db", str(db), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, env=os.environ.copy(),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"the dashboard did not become healthy: {proc.stdout.read1().decode() if proc.stdout else ''}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def server(synth_warehouse: Path) -> Iterator[str]:
    with serving(synth_warehouse) as url:
        yield url


def test_server_listens_on_localhost_only(server):
    port = int(server.rsplit(":", 1)[1])
    ips = {ai[4][0] for ai in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1"}
    for ip in ips:
        with socket.socket() as s:
            s.settimeout(1)
            assert s.connect_ex((ip, port)) != 0, f"the dashboard answers on {ip}"


def test_every_page_renders_charts_without_errors_in_chromium(server):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        try:
            for p in CHART_PAGES:
                name = p.name
                page.goto(f"{server}/{p.url_path}", wait_until="domcontentloaded")
                page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=60_000)
                page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)
                page.wait_for_timeout(500)  # let plotly finish its layout transition
                page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
                assert page.locator('[data-testid="stException"]').count() == 0, name
                assert page.locator('[data-testid="stAlertContentError"]').count() == 0, name
                assert page.get_by_text("Traceback").count() == 0, name
            # PNG download renders on click (kaleido + chromium) and is a real PNG
            page.goto(f"{server}/", wait_until="domcontentloaded")
            page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=60_000)
            page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)
            with page.expect_download(timeout=60_000) as dl:
                page.get_by_role("button", name="PNG").first.click()
            assert Path(dl.value.path()).read_bytes().startswith(b"\x89PNG")
            # the Evidence page: one click builds and downloads the whole pack as a ZIP
            page.goto(f"{server}/evidence", wait_until="domcontentloaded")
            button = page.get_by_role("button", name="Download evidence pack (ZIP)")
            button.wait_for(timeout=60_000)
            page.screenshot(path=str(SHOTS / "evidence.png"), full_page=True)
            with page.expect_download(timeout=120_000) as dl:
                button.click()
            with zipfile.ZipFile(dl.value.path()) as pack:
                names = pack.namelist()
                assert pack.testzip() is None
            assert any(n.endswith("manifest.json") for n in names), names
            assert any(n.endswith(".pdf") for n in names), names
            assert sum(n.endswith(".png") for n in names) >= 6, names
            # a link with filters reproduces the view: the sidebar shows the site from the URL
            page.goto(f"{server}/retention?site=north", wait_until="domcontentloaded")
            page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=60_000)
            page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)
            assert page.locator('[data-testid="stSidebar"]').get_by_text("north").count() >= 1
            assert "site=north" in page.url
            page.screenshot(path=str(SHOTS / "retention_north.png"), full_page=True)
        finally:
            browser.close()


@pytest.mark.parametrize("width", [700, 900, 1400])
def test_every_tile_label_is_shown_in_full_at_any_width(server, width):
    """st.metric cuts a label to one line with "…"; the app's style sheet lets it wrap (widgets.STYLE)."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": 1000})
        try:
            page.goto(f"{server}/", wait_until="domcontentloaded")
            page.wait_for_selector('[data-testid="stMetricLabel"]', timeout=60_000)
            settle(page)
            page.screenshot(path=str(SHOTS / f"overview_{width}.png"))
            cut = page.evaluate("""() => [...document.querySelectorAll('[data-testid="stMetricLabel"] *')]
                .filter(e => e.scrollWidth > e.clientWidth).map(e => e.textContent)""")
            assert page.locator('[data-testid="stMetricLabel"]').count() >= 5
            assert not cut, (width, cut)
        finally:
            browser.close()


def test_a_text_page_loads_the_pages_element_code_while_idle_so_the_next_page_finds_it(server):
    """The first chart page after a text page paid 0.3-0.4 s compiling plotly.js and the tiles', tables' and
    downloads' code (widgets.PRELOAD): the About page fetches Streamlit's own bundles of those elements (the
    very URLs its lazy imports ask for) once it is idle, from an element that takes no room; the Overview and
    Retention reached through the sidebar then fetch none of them again, and draw."""
    from playwright.sync_api import sync_playwright

    from peer_outcomes.dashboard.widgets import element_bundles

    bundles = element_bundles()
    assert {b.split(".")[0] for b in bundles} == {"PlotlyChart", "Metric", "DownloadButton", "Spinner", "Selectbox", "Table"}
    fetched = "() => performance.getEntriesByType('resource').map(e => e.name.split('/').pop())"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        try:
            page.goto(f"{server}/about", wait_until="domcontentloaded")
            page.wait_for_selector("h1", timeout=60_000)
            settle(page)
            page.wait_for_function(f"() => {list(bundles)!r}.every(b => ({fetched})().includes(b))", timeout=30_000)
            assert set(bundles) <= set(page.evaluate(fetched))
            holder = page.locator(".st-key-po-preload")
            assert holder.count() == 1 and holder.bounding_box() is None  # hidden: no room taken in the sidebar
            for title in ("Overview", "Retention"):
                page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
                page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=60_000)
                settle(page)
            names = page.evaluate(fetched)
            assert all(names.count(b) == 1 for b in bundles), names  # Streamlit's imports found them there
            assert page.url.endswith("/retention")
        finally:
            browser.close()


def settle(page, quiet_checks: int = 3, timeout_s: float = 120) -> None:
    """Wait until the script run is over: the app reports its script as not running (Streamlit's
    `data-test-script-state`) and no spinner shows, for `quiet_checks` checks in a row half a second apart."""
    done = '[data-testid="stApp"][data-test-script-state="notRunning"]'
    quiet, deadline = 0, time.monotonic() + timeout_s
    while quiet < quiet_checks:
        assert time.monotonic() < deadline, "the page did not finish running"
        page.wait_for_timeout(500)
        idle = page.locator(done).count() == 1 and page.locator('[data-testid="stSpinner"]').count() == 0
        quiet = quiet + 1 if idle else 0


RAW_MISSING = re.compile(r"\b(None|nan|NaN|NaT|undefined)\b")


@pytest.mark.parametrize("name", ["size_5", "size_11", "sites_60", "size_60"])
def test_small_programs_render_every_page_in_chromium_without_errors_or_raw_missing_values(program, name):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with serving(program(name)) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2000})
        try:
            for app_page in PAGES:
                where = f"{name} / {app_page.name}"
                page.goto(f"{url}/{app_page.url_path}", wait_until="domcontentloaded")
                page.wait_for_selector("h1", timeout=60_000)
                settle(page)
                if page.locator('[data-testid="stPlotlyChart"]').count():
                    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=60_000)
                page.screenshot(path=str(SHOTS / f"{name}-{app_page.name}.png"), full_page=True)
                assert page.locator('[data-testid="stException"]').count() == 0, where
                assert page.locator('[data-testid="stAlertContentError"]').count() == 0, where
                text = page.inner_text("body")
                assert "Traceback" not in text, where
                raw = [line for line in text.splitlines() if RAW_MISSING.search(line)]
                assert not raw, (where, raw)
        finally:
            browser.close()
