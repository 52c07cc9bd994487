"""The pages state the disengagement gap the warehouse was loaded with, not a number typed into the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from peer_outcomes.pipelines.etl import run_etl

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def gap_21_warehouse(synth_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic export loaded with --gap-days 21."""
    db = tmp_path_factory.mktemp("gap21") / "warehouse.duckdb"
    run_etl(synth_export, db, gap_days=21)
    return db


@pytest.mark.parametrize(("page", "sentence"), [
    (None, "a gap of 21 days without an attended session"),
    ("retention", "a dropout exit, or 21 days without an attended session"),
])
def test_the_definition_names_the_gap_of_the_load(gap_21_warehouse, monkeypatch, page, sentence):
    monkeypatch.setenv("PEER_OUTCOMES_DB", str(gap_21_warehouse))
    at = AppTest.from_file(APP, default_timeout=120).run()
    if page:
        at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception
    intro = at.markdown[0].value  # the page's definition (the docs' worked example below it assumes 30 days)
    assert sentence in intro
    assert "30" not in intro
