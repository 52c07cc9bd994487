"""With the threshold raised to 20 (`PEER_OUTCOMES_MIN_CELL=20`), every page and the evidence PDF name 20 and
never 11 where they mean the threshold: the sentences come from `analysis.disclosure`, not typed text.

Real Streamlit app (AppTest over every page, every compare-by choice) and a real evidence pack read back
with pypdf, on the session's synthetic warehouse.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import streamlit as st
from page_text import each_section
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from peer_outcomes.analysis.published import GROUPINGS
from peer_outcomes.analysis.queries import Filters

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")
PAGES = sorted(p.name for p in (ROOT / "dashboard" / "app_pages").glob("*.py") if p.name != "__init__.py")
# The threshold in words: "< 11", "fewer than 11", "at least 11", "1–10" (a range of hidden counts).
NAMES_11 = re.compile(r"(<|fewer than|at least|under|below)\s*11\b|\b1\s*[–-]\s*10\b", re.I)
TEXT_ELEMENTS = ("markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader", "text")


@pytest.fixture
def raised(synth_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PEER_OUTCOMES_DB", str(synth_warehouse))
    monkeypatch.setenv("PEER_OUTCOMES_MIN_CELL", "20")
    st.cache_data.clear()  # results cached at 11 by other tests of this process must not be reused
    yield synth_warehouse
    st.cache_data.clear()


def _texts(at: AppTest) -> list[str]:
    out = []
    for kind in TEXT_ELEMENTS:
        out += [str(e.value) for e in at.get(kind)]
    out += [f"{m.label} {m.value}" for m in at.metric]
    return out


def _check(at: AppTest, where: str) -> list[str]:
    assert not at.exception, (where, [e.value for e in at.exception])
    texts = _texts(at)
    bad = [t for t in texts if NAMES_11.search(t)]
    assert not bad, (where, bad)
    return texts


def test_every_page_names_the_raised_threshold_and_never_11(raised):
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert any("fewer than 20 people are hidden (“< 20”)" in c.value for c in at.sidebar.caption)
    for page in PAGES:
        at.switch_page(f"app_pages/{page}").run()
        texts = [t for at in each_section(at, page) for t in _check(at, page)]
        assert any("20" in t for t in texts), page
        for box in [b for b in at.selectbox if b.key and b.key.endswith("_by")]:
            for by in GROUPINGS:
                at.selectbox(key=box.key).set_value(by).run()
                _check(at, f"{page} by {by}")


def test_the_evidence_pdf_names_the_raised_threshold_and_never_11(raised, tmp_path):
    from peer_outcomes.dashboard.evidence import build_pack

    build_pack(raised, tmp_path / "pack", Filters())
    text = "\n".join(p.extract_text() for p in PdfReader(tmp_path / "pack" / "report.pdf").pages)
    text = " ".join(text.split())
    assert not NAMES_11.findall(text), NAMES_11.findall(text)
    assert "fewer than 20" in text and "< 20" in text
    assert "< 20" in (tmp_path / "pack" / "README.md").read_text()
