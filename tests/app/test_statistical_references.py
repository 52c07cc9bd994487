"""Statistical references (R functions and conventions, software names, estimator details) are for
researchers: the captions and notes a director reads on every page and in the PDF's findings, tables and
captions name none; the methods for researchers (the page's expander, the PDF's Methods section) keep them."""

from __future__ import annotations

from pathlib import Path

import pytest
from page_text import each_section
from statistical_references import REFERENCES
from streamlit.testing.v1 import AppTest

from peer_outcomes.dashboard.app_pages import PAGES

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def pages(synth_warehouse: Path) -> dict[str, AppTest]:
    import os

    os.environ["PEER_OUTCOMES_DB"] = str(synth_warehouse)
    out = {}
    for page in PAGES:
        at = AppTest.from_file(APP, default_timeout=180).run()
        if page is not PAGES[0]:
            at.switch_page(page.script).run()
        assert not at.exception, page.name
        out[page.name] = at
    return out


def _outside_expanders(at: AppTest) -> list[str]:
    inside = {id(e) for x in at.expander for e in x.children.values()} | {
        id(m) for x in at.expander for m in x.markdown
    }
    return [e.value for kind in ("markdown", "caption", "info", "warning", "success") for e in getattr(at, kind)
            if id(e) not in inside]  # fmt: skip


def test_no_caption_or_note_a_director_reads_cites_a_statistical_reference(pages):
    found = {f"{name} / {section}": [t for t in _outside_expanders(at) if REFERENCES.search(t)]
             for name, at in pages.items() for section, at in enumerate(each_section(at, name))}  # fmt: skip
    assert not {k: v for k, v in found.items() if v}


def test_the_references_are_in_the_methods_for_researchers(pages):
    relapse = " ".join(m.value for at in each_section(pages["relapse"], "relapse") for x in at.expander for m in x.markdown)
    for reference in ("as R survfit", "as R coxph", "Efron ties", "Schoenfeld residual test"):
        assert reference in relapse
