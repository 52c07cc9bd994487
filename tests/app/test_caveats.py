"""The caveats a director needs beside a number, each said once: workshops recorded only when attended,
milestones counted from another start day than relapse-free time, and the disclosure rule under the charts."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from peer_outcomes.analysis import disclosure, published
from peer_outcomes.analysis.queries import Filters
from peer_outcomes.dashboard.app_pages import PAGES

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def pages(synth_warehouse: Path) -> dict[str, AppTest]:
    """Every page of the dashboard on the synthetic program, as it opens."""
    import os

    os.environ["PEER_OUTCOMES_DB"] = str(synth_warehouse)
    try:
        out = {}
        for page in PAGES:
            at = AppTest.from_file(APP, default_timeout=120).run()
            if page is not PAGES[0]:
                at.switch_page(page.script).run()
            assert not at.exception, page.name
            out[page.name] = at
        return out
    finally:
        os.environ.pop("PEER_OUTCOMES_DB")


def test_workshops_recorded_only_when_attended_are_named_on_the_engagement_page(synth_warehouse, pages):
    # the synthetic program, like many real ones, records workshops only for the people who came
    notes = [n for n in published.engagement(synth_warehouse, Filters()).notes if "100% attendance" in n]
    assert notes == [
        "Workshop sessions show 100% attendance and 0% no-shows because only the people who came are recorded "
        "for them, not those who were expected and stayed away: these rates say nothing about how many missed one."
    ]
    assert [i.value for i in pages["engagement"].info].count(notes[0]) == 1


def test_milestones_say_they_count_from_another_day_than_relapse_free_time(pages, synth_warehouse, monkeypatch):
    monkeypatch.setenv("PEER_OUTCOMES_DB", str(synth_warehouse))  # the tab's rerun reads the warehouse
    at, page = pages["relapse"], next(p for p in PAGES if p.name == "relapse")
    assert at.table and at.get("plotly_chart")  # the relapse-free rates, in the tab open first
    at.session_state[page.section_key] = "Sobriety milestones"
    at.run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    at.session_state[page.section_key] = page.sections[0]
    at.run()
    assert "“reached 90 days sober” and “relapse-free at 90 days” describe different stretches of time" in text


@pytest.mark.parametrize("page", [p.name for p in PAGES])
def test_each_disclaimer_is_shown_once_per_page(pages, page):
    at = pages[page]
    captions = " ".join(c.value for c in at.caption)
    assert captions.count(disclosure.methods_sentence()) <= 1
    notes = [i.value for i in at.info]
    assert len(notes) == len(set(notes)), notes
