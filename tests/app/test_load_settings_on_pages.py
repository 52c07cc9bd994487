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


@pytest.fixture(scope="module")
def two_gaps_warehouse(synth_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic export loaded twice into one warehouse: as program a with a 30-day gap, as b with 21 days."""
    db = tmp_path_factory.mktemp("two_gaps") / "warehouse.duckdb"
    run_etl(synth_export, db, program="a", gap_days=30)
    run_etl(synth_export, db, program="b", gap_days=21)
    return db


def test_programs_loaded_with_different_gaps_each_say_their_own(two_gaps_warehouse, monkeypatch, tmp_path):
    """The page's definition and the pack's methods give each program's gap, not the last load's alone; one
    program (chosen, or the only one a role may see) gives its own."""
    from pypdf import PdfReader

    from peer_outcomes.analysis import published
    from peer_outcomes.analysis.queries import Filters
    from peer_outcomes.dashboard.evidence import build_pack

    monkeypatch.setenv("PEER_OUTCOMES_DB", str(two_gaps_warehouse))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert "a gap of 30 days (a), 21 days (b) without an attended session" in at.markdown[0].value

    assert published.gap_text(two_gaps_warehouse, Filters(programs=("a",))) == "30 days"
    assert published.gap_text(two_gaps_warehouse, Filters(allowed_programs=("b",))) == "21 days"

    build_pack(two_gaps_warehouse, tmp_path / "pack", Filters())
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(tmp_path / "pack" / "report.pdf").pages)
    assert "after 30 days (a), 21 days (b) without an attended session" in text
