"""The sidebar's quick enrollment-period choices: "All", the last 12 months, quarter and month, within the
publishable periods, each labelled with the months it really covers, and each giving the Filters it names."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from peer_outcomes.analysis import published
from peer_outcomes.analysis.population import Period
from peer_outcomes.analysis.queries import Filters
from peer_outcomes.dashboard.widgets import period_presets

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def _runs(*months: tuple[str, str]) -> list[Period]:
    return [Period(pd.Timestamp(a).date(), (pd.Timestamp(b) + pd.offsets.MonthEnd(0)).date()) for a, b in months]


def test_single_month_periods_offer_the_last_month_quarter_and_year():
    steps = _runs(*[(str(m), str(m)) for m in pd.period_range("2024-07", "2026-06", freq="M")])
    assert period_presets(steps) == {
        0: "All",
        12: "Last 12 months (Jul 2025 – Jun 2026)",
        21: "Last quarter (Apr 2026 – Jun 2026)",
        23: "Last month (Jun 2026)",
    }


def test_a_long_last_period_is_offered_once_under_the_months_it_covers():
    # the latest period holds six months (fewer than k people in some site and track month by month)
    steps = _runs(("2024-01", "2024-07"), ("2024-08", "2025-05"), ("2025-06", "2025-12"), ("2026-01", "2026-06"))
    assert period_presets(steps) == {0: "All", 2: "Last 13 months (Jun 2025 – Jun 2026)", 3: "Last 6 months (Jan 2026 – Jun 2026)"}


def test_presets_never_repeat_all_and_need_a_period():
    assert period_presets(_runs(("2025-01", "2026-06"))) == {0: "All"}
    assert period_presets([]) == {}


@pytest.fixture(autouse=True)
def _warehouse(synth_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEER_OUTCOMES_DB", str(synth_warehouse))


def test_each_preset_gives_its_filters_and_the_page_renders(synth_warehouse):
    steps = published.filter_options(synth_warehouse)["periods"]
    presets = period_presets(steps)
    assert len(presets) >= 3, presets  # the test program has recent periods to choose
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert at.radio(key="f_preset").value == 0  # All, by default
    labels = at.radio(key="f_preset").options
    assert [label for label in labels if label != "Choose months…"] == list(presets.values())
    for i in presets:
        at.radio(key="f_preset").set_value(i).run()
        expected = Filters(enrolled_from=steps[i].start if i else None)
        assert at.session_state["filters"] == expected
        assert not at.exception and not at.error
        n = published.headline(synth_warehouse, expected).n
        assert next(m.value for m in at.metric if m.label == "Participants") == f"{n:,.0f}"
        start = steps[i].start.isoformat() if i else None
        assert at.query_params.get("from") in (start, [start])  # the link reproduces the choice


def test_choosing_months_gives_a_closed_range(synth_warehouse):
    steps = published.filter_options(synth_warehouse)["periods"]
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.radio(key="f_preset").set_value("custom").run()
    at.selectbox(key="f_from").set_value(2)
    at.selectbox(key="f_to").set_value(1).run()  # a "To" before "From" is read as the range between them
    last_is_open = len(steps) == 3  # a range up to the latest period has no end: later enrollees join it
    assert at.session_state["filters"] == Filters(enrolled_from=steps[1].start, enrolled_to=None if last_is_open else steps[2].end)
    assert not at.exception and not at.error


def test_a_link_to_the_latest_periods_opens_on_the_matching_preset(synth_warehouse):
    steps = published.filter_options(synth_warehouse)["periods"]
    last = max(period_presets(steps))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["from"] = steps[last].start.isoformat()
    at.run()
    assert at.radio(key="f_preset").value == last
    assert at.session_state["filters"] == Filters(enrolled_from=steps[last].start)
    assert isinstance(steps[last].start, date)
