"""Every page and download for every role, signed out and without a role included, under AppTest with
`at.user` standing in for the identity provider (the browser test signs in through a real one), and a
site coordinator's pages equal to what a warehouse of their site alone shows, whatever the URL asks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from page_text import each_section, tables
from reach import COORDINATOR_SITES, USERS, auth_config
from streamlit.testing.v1 import AppTest

from peer_outcomes.dashboard import auth
from peer_outcomes.dashboard.app_pages import PAGES

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
OVERVIEW_TITLE = "Program outcomes at a glance"


@pytest.fixture(scope="module")
def auth_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return auth_config(tmp_path_factory.mktemp("auth"), "http://127.0.0.1:9/", "http://127.0.0.1:8501/oauth2callback")


@pytest.fixture(autouse=True)
def _signed_in_dashboard(reach_warehouses, auth_file, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PEER_OUTCOMES_DB", str(reach_warehouses[0]))
    monkeypatch.setenv(auth.ENV, str(auth_file))
    monkeypatch.setenv("PEER_OUTCOMES_AUDIT", str(tmp_path / "audit.jsonl"))


def _run(user: dict, page: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.user = user
    at.query_params.update(query or {})
    at.switch_page(f"app_pages/{page}.py")
    return at.run()


def _signed_in(role: str) -> dict:
    return {"is_logged_in": True, "email": USERS[role], "email_verified": True}


def _nothing_published(at: AppTest) -> bool:
    return not (at.metric or at.get("plotly_chart") or at.get("download_button") or at.dataframe or at.table)


@pytest.mark.parametrize("page", [p.name for p in PAGES])
def test_a_visitor_who_has_not_signed_in_gets_a_sign_in_button_and_no_numbers(page):
    at = _run({"is_logged_in": False}, page)
    assert not at.exception and _nothing_published(at)
    assert [b.label for b in at.button] == ["Sign in"]


@pytest.mark.parametrize("page", [p.name for p in PAGES])
def test_a_signed_in_user_without_a_role_is_sent_to_their_administrator_with_no_numbers(page, tmp_path):
    at = _run({"is_logged_in": True, "email": "stranger@example.org"}, page)
    assert not at.exception and _nothing_published(at)
    assert "ask your administrator" in at.warning[0].value
    event = json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[-1])
    assert (event["email"], event["event"]) == ("stranger@example.org", "denied")


@pytest.mark.parametrize("role", list(USERS))
@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_each_role_opens_its_pages_with_their_downloads_and_no_other(role, page, tmp_path):
    at = _run(_signed_in(role), page.name)
    assert not at.exception
    titles = [t.value for t in at.title]
    allowed = page.name in auth.ROLE_PAGES[role]
    if not allowed:  # another page's address opens the first page, never the one asked for
        assert titles == [OVERVIEW_TITLE] and page.name != PAGES[0].name
        return
    if page.name != PAGES[0].name:
        assert titles and titles != [OVERVIEW_TITLE]
    downloads = [d.label for d in at.get("download_button")]
    if page.charts:
        assert {"CSV", "PNG", "SVG"} <= set(downloads)
    if page.name == "evidence":
        assert downloads == ["Download evidence pack (ZIP)"]
    view = json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[-1])
    assert (view["email"], view["role"], view["event"], view["page"]) == (USERS[role], role, "view", page.name)


def _shown(at: AppTest, page: str = "overview") -> dict:
    """Everything a page shows that carries a number, in every section: tiles, charts (their data) and tables."""
    out: dict = {"metrics": [], "charts": [], "tables": []}
    for section in each_section(at, page):
        out["metrics"] += [(m.label, m.value) for m in section.metric]
        out["charts"] += [json.loads(c.proto.spec)["data"] for c in section.get("plotly_chart")]
        out["tables"] += [df.to_json() for df in tables(section)]
    return out | {"sites offered": at.multiselect(key="f_sites").options if at.multiselect else []}


@pytest.mark.parametrize("page", auth.ROLE_PAGES["site_coordinator"])
def test_a_coordinator_asking_for_another_site_sees_only_what_their_site_alone_gives(reach_warehouses, page, monkeypatch):
    coordinator = _shown(_run(_signed_in("site_coordinator"), page, {"site": "south"}), page)
    monkeypatch.setenv("PEER_OUTCOMES_DB", str(reach_warehouses[1]))  # a warehouse that never held another site
    alone = _shown(_run(_signed_in("director"), page), page)
    if page == "practice":  # all mentors' part is refused to a coordinator (gate.require_every_site)
        alone["charts"] = alone["charts"][: len(coordinator["charts"])]
        alone["tables"] = alone["tables"][: len(coordinator["tables"])]
    assert coordinator == alone
    assert coordinator["sites offered"] in ([], list(COORDINATOR_SITES))


def test_a_coordinators_overview_is_not_the_whole_programs():
    coordinator = _shown(_run(_signed_in("site_coordinator"), "overview"))
    director = _shown(_run(_signed_in("director"), "overview"))
    assert coordinator["metrics"] != director["metrics"]


PROGRAM_RULES = """
[[access]]
email = "dir-a@example.org"
role = "director"
programs = ["a"]

[[access]]
email = "dir-next@example.org"
role = "director"
programs = ["not-loaded-yet"]
"""


@pytest.fixture
def programs_dashboard(two_programs, auth_file, tmp_path, monkeypatch):
    """The two-program warehouse (tests/programs.py) with the rules above beside the usual ones."""
    path = tmp_path / "programs.toml"
    path.write_text(auth_file.read_text() + PROGRAM_RULES)
    path.chmod(0o600)
    monkeypatch.setenv(auth.ENV, str(path))
    monkeypatch.setenv("PEER_OUTCOMES_DB", str(two_programs.final))
    return two_programs


def test_a_director_of_program_a_asking_for_b_sees_only_what_a_alone_gives(programs_dashboard, monkeypatch, tmp_path):
    at = _run({"is_logged_in": True, "email": "dir-a@example.org"}, "overview", {"program": "b"})
    mine = _shown(at)
    assert "Signed in as dir-a@example.org: director in a." in [c.value for c in at.sidebar.caption]  # A's name is its code
    view = json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[-1])
    assert view["population"].endswith("within programs a")
    monkeypatch.setenv("PEER_OUTCOMES_DB", str(programs_dashboard.a_only))
    alone = _shown(_run(_signed_in("director"), "overview"))
    assert mine == alone and mine["metrics"]


def test_a_user_whose_programs_the_warehouse_lacks_is_sent_to_their_administrator(programs_dashboard):
    at = _run({"is_logged_in": True, "email": "dir-next@example.org"}, "overview")
    assert not at.exception and _nothing_published(at)
    assert "ask your administrator" in at.warning[0].value
