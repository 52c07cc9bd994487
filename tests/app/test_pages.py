"""Every dashboard page under Streamlit's AppTest against the real synthetic warehouse: no exception,
key numbers equal the published/analysis layer's, filters (and URL query params) change them, and the
planted small site never shows."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from page_text import each_section, tables
from streamlit.testing.v1 import AppTest

from peer_outcomes.analysis import published
from peer_outcomes.analysis.queries import Filters
from peer_outcomes.dashboard import words
from peer_outcomes.dashboard.app_pages import PAGES

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
OVERVIEW = PAGES[0].name
CHART_PAGES = [p.name for p in PAGES[1:] if p.charts]


@pytest.fixture(autouse=True)
def _warehouse(synth_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEER_OUTCOMES_DB", str(synth_warehouse))


@pytest.fixture(scope="module")
def small_site(synth_export: Path) -> str:
    return json.loads((synth_export / "truth.json").read_text())["small_site"]


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=120)


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _traces(at: AppTest) -> list[str]:
    names = []
    for chart in at.get("plotly_chart"):
        names += [t.get("name") for t in json.loads(chart.proto.spec)["data"]]
    return [n for n in names if n]


def test_overview_tiles_equal_the_published_layer(synth_warehouse):
    at = _app().run()
    assert not at.exception
    tiles = published.headline(synth_warehouse, Filters()).frames["tiles"].set_index("key")["value"]
    assert _metric(at, "Participants") == f"{tiles['enrolled']:,.0f}"
    assert _metric(at, "Still engaged at 90 days") == f"{tiles['retained_90']:.0%}"
    assert _metric(at, "Median retention") == f"{tiles['median_retention']:,.0f} days"
    assert at.get("plotly_chart")


def test_overview_states_whom_the_matched_share_counts(synth_warehouse):
    at = _app().run()
    tiles = published.headline(synth_warehouse, Filters()).frames["tiles"].set_index("key")
    assert _metric(at, "Matched with a mentor") == f"{tiles['value']['matched']:.0%}"
    assert f"of about {tiles['n']['matched']:,.0f} people in the peer mentoring track" in [c.value for c in at.caption]


@pytest.mark.parametrize("page", CHART_PAGES)
def test_every_page_runs_without_error_and_draws_charts(page):
    at = _app().run()
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    assert len(at.get("plotly_chart")) >= 1
    assert any("Methods:" in c.value for c in at.caption)
    definition = at.expander[0].markdown[0].value  # the measure's definition, read from docs/
    assert definition and not definition.startswith("See docs/")


@pytest.mark.parametrize("by", ["site", "program_track", "main_format", "cohort_quarter"])
def test_retention_compares_by_every_grouping(synth_warehouse, by):
    at = _app().run()
    at.switch_page("app_pages/retention.py").run()
    at.selectbox(key="ret_by").set_value(by).run()
    assert not at.exception
    rates = published.retention(synth_warehouse, Filters(), by=by).frames["rates"]
    assert set(_traces(at)) >= {words.plain(g) for g in rates["group"]}  # the groups, in a director's words


def test_choosing_a_site_changes_the_numbers_and_the_url(synth_warehouse):
    at = _app().run()
    everyone = _metric(at, "Participants")
    at.multiselect(key="f_sites").set_value(["north"]).run()
    north = published.headline(synth_warehouse, Filters(sites=("north",))).n
    assert _metric(at, "Participants") == f"{north:,.0f}" != everyone
    assert at.query_params["site"] in ("north", ["north"])


def test_a_link_with_query_params_reproduces_the_view(synth_warehouse):
    at = _app()
    at.query_params["site"] = "east"
    at.query_params["from"] = "2025-01-15"  # widened to the start of the enrollment period it falls in
    at.run()
    expected = published.headline(synth_warehouse, Filters(sites=("east",), enrolled_from=date(2025, 1, 1)))
    assert _metric(at, "Participants") == f"{expected.n:,.0f}"


def test_enrollment_period_filter_changes_retention(synth_warehouse):
    at = _app().run()
    at.switch_page("app_pages/retention.py").run()
    before = tables(at)[0]
    periods = published.filter_options(synth_warehouse)["periods"]
    _choose_months(at, 1, len(periods) - 1)
    after = tables(at)[0]
    assert not at.exception
    assert not before.equals(after)


def test_small_site_never_appears_on_retention_or_relapse_by_site(small_site):
    at = _app().run()
    for page, key in (("retention", "ret_by"), ("relapse", "rel_by")):
        at.switch_page(f"app_pages/{page}.py").run()
        at.selectbox(key=key).set_value("site").run()
        infos = []
        for tab in each_section(at, page):  # every tab of the page, each drawn in turn
            assert not tab.exception
            assert small_site not in _traces(tab)
            assert all(small_site not in df.astype(str).to_string() for df in tables(tab))
            infos += [i.value for i in tab.info]
        assert any("fewer than 11 people" in i for i in infos)


def test_the_small_site_is_not_offered_and_a_link_naming_it_is_ignored(synth_warehouse, small_site):
    n = duckdb.connect(str(synth_warehouse), read_only=True).execute(
        "select count(*) from marts.participant_outcomes where site = ?", [small_site]).fetchone()[0]  # fmt: skip
    assert 0 < n < 11
    at = _app()
    at.query_params["site"] = small_site
    at.run()
    assert not at.exception
    assert small_site not in at.multiselect(key="f_sites").options
    assert at.multiselect(key="f_sites").value == []
    everyone = published.headline(synth_warehouse, Filters()).n
    assert _metric(at, "Participants") == f"{everyone:,.0f}"


def _choose_months(at: AppTest, first: int, last: int) -> None:
    """Pick "Choose months…" in the sidebar, then periods `first` to `last` (indices into the periods)."""
    at.radio(key="f_preset").set_value("custom").run()
    at.selectbox(key="f_from").set_value(first)
    at.selectbox(key="f_to").set_value(last).run()


def _smallest_site_period(db: Path) -> tuple[str, int, int]:
    """The offered site and single enrollment period (its index) with the fewest participants (counted in pandas)."""
    from peer_outcomes.analysis.queries import outcomes

    opts = published.filter_options(db)
    df = outcomes(db, Filters())
    sizes = [(site, i, int(((df["site"] == site) & df["enrolled_on"].between(pd.Timestamp(p.start), pd.Timestamp(p.end))).sum()))
             for site in opts["sites"] for i, p in enumerate(opts["periods"])]  # fmt: skip
    return min(sizes, key=lambda x: x[2])


def test_the_narrowest_sidebar_choice_still_describes_at_least_11_people(synth_warehouse):
    site, period, n = _smallest_site_period(synth_warehouse)
    assert n >= 11, "periods are runs of months with 0 or at least 11 people per site and track"
    at = _app().run()
    at.multiselect(key="f_sites").set_value([site])
    _choose_months(at, period, period)
    assert not at.exception
    assert _metric(at, "Participants") == f"{n:,}"


def test_a_missing_warehouse_is_one_plain_sentence_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("PEER_OUTCOMES_DB", str(tmp_path / "none.duckdb"))
    at = _app().run()
    assert not at.exception
    assert at.error[0].value.startswith("No warehouse at ")


@pytest.mark.parametrize("page", [p.name for p in PAGES])
def test_every_page_survives_the_narrowest_selection_allowed(synth_warehouse, page):
    # the smallest site and single period the sidebar offers: few events, models may not be fittable
    site, period, _ = _smallest_site_period(synth_warehouse)
    at = _app().run()
    at.multiselect(key="f_sites").set_value([site])
    _choose_months(at, period, period)
    if page != OVERVIEW:
        at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]


def test_the_about_page_lists_every_page_and_the_threshold_in_force(monkeypatch):
    monkeypatch.setenv("PEER_OUTCOMES_MIN_CELL", "20")
    at = _app().run()
    at.switch_page("app_pages/about.py").run()
    assert not at.exception and not at.error
    text = " ".join(m.value for m in at.markdown)
    assert all(p.title in text for p in PAGES if p.question)
    assert "fewer than 20 people" in text and "fewer than 11" not in text


def test_an_empty_tile_says_why_it_is_empty(synth_warehouse):
    """A site's latest enrollment period: recent enrollees, so some tiles are empty (too few followed long
    enough, or a median not reached yet); each says which, as the published layer recorded it, in the tile
    and its tooltip, never "not shown"."""
    from peer_outcomes.analysis import disclosure, population

    start = population.enrollment_periods(synth_warehouse)[-1].start
    for site in published.filter_options(synth_warehouse)["sites"]:
        f = Filters(enrolled_from=start, sites=(site,))
        tiles = published.headline(synth_warehouse, f).frames["tiles"]
        status = dict(zip(tiles["label"], disclosure.cell_status(tiles, "value"), strict=True))
        if status.get("Median retention"):
            break
    assert status["Median retention"] in ("hidden_small", "not_reached")
    at = _app()
    for k, v in f.to_query_params().items():
        at.query_params[k] = v
    at.run()
    shown = {m.label: (m.value, m.help) for m in at.metric}
    for label, why in status.items():
        if why:
            word = "not reached yet" if why == "not_reached" else "hidden"
            assert shown[label] == (word, disclosure.status_words(why).capitalize() + "."), label
    assert shown["Median retention"][1] in ("Hidden (fewer than 11 people).", "Not reached yet.")
