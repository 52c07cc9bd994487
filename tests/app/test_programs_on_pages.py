"""The program control on the real dashboard (AppTest): absent with one program, offered by name with two,
kept in the URL, narrowing every number; compare by program on the retention page; each program's cutoff."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from peer_outcomes.analysis import published
from peer_outcomes.analysis.queries import Filters

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=120)


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_one_program_shows_no_program_control(synth_warehouse, monkeypatch):
    monkeypatch.setenv("PEER_OUTCOMES_DB", str(synth_warehouse))
    at = _app().run()
    assert not at.exception
    assert not [m for m in at.multiselect if m.key == "f_programs"]
    at.switch_page("app_pages/retention.py").run()
    assert at.selectbox(key="ret_by").options == ["Everyone", "Site", "Track", "Main format", "Cohort"]


@pytest.fixture
def two(two_programs, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PEER_OUTCOMES_DB", str(two_programs.final))
    return two_programs.final


def test_two_programs_offer_a_program_filter_that_narrows_the_numbers(two):
    at = _app().run()
    assert not at.exception
    control = at.multiselect(key="f_programs")
    assert control.label == "Programs (all if empty)" and control.options == ["a", "b"]
    everyone = _metric(at, "Participants")
    control.set_value(["b"]).run()
    assert not at.exception
    assert at.query_params["program"] in ("b", ["b"])
    only_b = published.headline(two, Filters(programs=("b",))).frames["tiles"].set_index("key")["value"]["enrolled"]
    assert _metric(at, "Participants") == f"{only_b:,.0f}" != everyone


def test_a_link_with_a_program_reproduces_the_view(two):
    at = _app()
    at.query_params["program"] = "a"
    at.run()
    assert not at.exception
    assert at.multiselect(key="f_programs").value == ["a"]
    assert _metric(at, "Participants") == "12"


def test_retention_compares_by_program_and_names_each_cutoff(two):
    at = _app().run()
    at.switch_page("app_pages/retention.py").run()
    by = at.selectbox(key="ret_by")
    assert by.options[-1] == "Program"
    by.set_value("program").run()
    assert not at.exception
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert titles and all("data to 2026-06-30 (a), 2026-09-30 (b)" in t for t in titles)
    names = {t.get("name") for c in at.get("plotly_chart") for t in json.loads(c.proto.spec)["data"]}
    assert {"a", "b"} <= names  # one curve per program
