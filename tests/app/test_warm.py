"""The server's background warm-up (dashboard.data.warm): after it, a first visit to every page with the
default view computes nothing more, because every result the pages ask for is already in the cache."""

from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st
from streamlit.runtime.caching import cache_data_api
from streamlit.testing.v1 import AppTest

from peer_outcomes.dashboard import data
from peer_outcomes.dashboard.app_pages import PAGES

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def _results_cached() -> int:
    """Bytes held by the caches of the published results: grows with every result computed."""
    stats = cache_data_api.get_data_cache_stats_provider().get_stats()
    return sum(s.byte_length for family in stats.values() for s in family
               if s.cache_name.rsplit(".", 1)[-1] in ("_published", "_practice"))


def test_after_the_warm_up_a_first_visit_to_every_page_computes_nothing(synth_warehouse, monkeypatch):
    monkeypatch.setenv("PEER_OUTCOMES_DB", str(synth_warehouse))
    monkeypatch.setenv(data.WARM_ENV, "1")
    monkeypatch.setattr(data, "_warmed", set())  # whatever an earlier test in this process warmed
    st.cache_data.clear()
    data.warm()
    warmer = next(t for t in threading.enumerate() if t.name == "peer-outcomes-warm")
    warmer.join(300)
    assert not warmer.is_alive()
    warmed = _results_cached()
    assert warmed > 0
    data.warm()  # once per warehouse, data version and k
    assert not any(t.name == "peer-outcomes-warm" for t in threading.enumerate())
    for page in PAGES:
        at = AppTest.from_file(APP, default_timeout=120)
        if page is not PAGES[0]:
            at.switch_page(page.script)
        at.run()
        assert not at.exception, page.name
    assert _results_cached() == warmed  # every page found what it asked for


def test_without_the_server_setting_nothing_is_computed_in_the_background(synth_warehouse, monkeypatch):
    monkeypatch.setenv("PEER_OUTCOMES_DB", str(synth_warehouse))
    monkeypatch.delenv(data.WARM_ENV, raising=False)
    monkeypatch.setattr(data, "_warmed", set())
    st.cache_data.clear()
    data.warm()
    assert not any(t.name == "peer-outcomes-warm" for t in threading.enumerate())
    assert _results_cached() == 0
