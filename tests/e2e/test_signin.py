"""Sign-in in a real browser: `peer-outcomes dashboard --auth` behind a real OpenID Connect provider
(oidc-provider-mock) on 127.0.0.1, headless Debian Chromium signing in as each role. A site coordinator's
numbers and CSV equal those of a warehouse holding their site alone, whatever the address asks for; the
audit trail records who viewed and downloaded what."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from reach import USERS, auth_config
from werkzeug.serving import make_server

from peer_outcomes.analysis import disclosure, published
from peer_outcomes.analysis.queries import Filters

pytestmark = pytest.mark.e2e
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip
OVERVIEW_TITLE = "Program outcomes at a glance"
TIMEOUT_MS = 120_000  # a shared two-core machine under load; on an idle one the whole test takes seconds


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def identity_provider() -> Iterator[str]:
    """oidc-provider-mock on 127.0.0.1 (any client id and secret); each user signs in by typing their email."""
    import oidc_provider_mock

    users = [oidc_provider_mock.User(sub=e, claims={"email": e, "email_verified": True})
             for e in [*USERS.values(), "stranger@example.org"]]  # fmt: skip
    server = make_server("127.0.0.1", 0, oidc_provider_mock.app(user_claims=users), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


@contextmanager
def serving_with_sign_in(db: Path, folder: Path) -> Iterator[str]:
    """`peer-outcomes dashboard --auth` on a free port of 127.0.0.1 until the block ends; yields its URL."""
    with identity_provider() as issuer:  # first: a port asked for after it cannot be the provider's own
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        config = auth_config(folder, issuer, f"{url}/oauth2callback")
        env = os.environ | {"PEER_OUTCOMES_AUDIT": str(folder / "audit.jsonl")}
        cli = Path(sys.executable).with_name("peer-outcomes")
        proc = subprocess.Popen([str(cli), "dashboard", "--db", str(db), "--port", str(port), "--auth", str(config)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, env=env)  # fmt: skip
        try:
            for _ in range(240):
                if proc.poll() is not None:
                    pytest.fail(f"the dashboard stopped: {proc.stdout.read().decode()[-2000:]}")
                try:
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                        break
                except OSError:
                    time.sleep(0.5)
            else:
                pytest.fail("the dashboard did not become healthy")
            yield url
        finally:
            proc.terminate()
            try:
                output = proc.communicate(timeout=15)[0].decode()
            except subprocess.TimeoutExpired:
                proc.kill()
                output = proc.communicate()[0].decode()
            assert "test-client-secret" not in output and "c" * 40 not in output  # no secret in the log


def _sign_in(browser, url: str, email: str, path: str = ""):
    """A fresh browser session signed in as `email` through the provider's form; returns the page at `path`."""
    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{url}/", wait_until="domcontentloaded")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector('input[name="sub"]')  # the identity provider's own page
    page.fill('input[name="sub"]', email)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{url}/**")
    if path:
        page.goto(f"{url}/{path}", wait_until="domcontentloaded")
    page.wait_for_selector("h1")
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached")
    return page


def _nav(page) -> list[str]:
    return page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()


def _metric(page, label: str) -> str:
    tile = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return tile.locator('[data-testid="stMetricValue"]').inner_text()


def test_each_role_signs_in_through_the_provider_and_sees_only_its_share(reach_warehouses, tmp_path):
    from playwright.sync_api import sync_playwright

    whole, alone = reach_warehouses
    n_alone = published.headline(alone, Filters()).frames["tiles"].set_index("key")["value"]["enrolled"]
    n_whole = published.headline(whole, Filters()).frames["tiles"].set_index("key")["value"]["enrolled"]
    with serving_with_sign_in(whole, tmp_path) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()  # not signed in: a sign-in button and no numbers
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{url}/retention", wait_until="domcontentloaded")
            page.get_by_role("button", name="Sign in").wait_for()
            assert page.locator('[data-testid="stMetric"], [data-testid="stPlotlyChart"]').count() == 0

            page = _sign_in(browser, url, "stranger@example.org")  # signed in, no role
            assert "ask your administrator" in page.inner_text("body")
            assert page.locator('[data-testid="stMetric"], [data-testid="stPlotlyChart"]').count() == 0

            for role in ("director", "analyst", "grant_writer"):
                page = _sign_in(browser, url, USERS[role])
                assert _metric(page, "Participants") == f"{n_whole:,.0f}", role
                assert ("Data quality" in _nav(page)) == (role != "grant_writer"), role

            # the coordinator asks for another site by address: they get their own site's numbers only
            page = _sign_in(browser, url, USERS["site_coordinator"], "?site=south")
            assert _metric(page, "Participants") == f"{n_alone:,.0f}" != f"{n_whole:,.0f}"
            assert "Data quality" not in _nav(page)
            page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg')
            with page.expect_download() as dl:
                page.get_by_role("button", name="CSV").first.click()
            expected = disclosure.csv_text(_labelled(published.retention(alone, Filters()), "curve"))
            assert Path(dl.value.path()).read_bytes() == expected.encode()
            page.goto(f"{url}/data_quality", wait_until="domcontentloaded")  # not theirs: the first page opens
            page.wait_for_selector("h1")
            assert page.locator("h1").first.inner_text() == OVERVIEW_TITLE
        finally:
            browser.close()
    events = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    seen = {(e["email"], e["event"], e["page"], e["item"]) for e in events}
    assert ("stranger@example.org", "denied", "", "") in seen
    assert (USERS["site_coordinator"], "download", "overview", "retention_curve.csv") in seen
    assert {(USERS[r], "view", "overview", "") for r in USERS} <= seen


def _labelled(pub, frame):
    from peer_outcomes.dashboard.figures import shown as labelled

    return labelled(pub, frame)
