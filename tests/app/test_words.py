"""Codes read as a director's words: in sentences, in chart categories, in table headers and on every page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from page_text import RAW_CODE, RESEARCHERS, each_section, words_shown
from streamlit.testing.v1 import AppTest

from peer_outcomes.dashboard import words
from peer_outcomes.dashboard.app_pages import PAGES

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
OUTCOME_PAGES = ("overview", "retention", "relapse", "engagement", "mentors")  # each defines its measure


def test_codes_in_a_sentence_become_words_but_file_names_stay():
    said = words.plain("Reference levels — program_track: peer_mentoring; see substance_use.csv. Data cutoff (as_of)")
    assert said == "Reference levels — track: peer mentoring; see substance_use.csv. Data cutoff"


def test_a_term_the_data_cannot_estimate_is_named_in_words():
    from peer_outcomes.analysis.estimability import not_estimable_warnings

    notes = not_estimable_warnings(
        {"gender[T.unknown]": "too few events: this group has none", "age_months": "it is collinear",
         "program_track[T.usual_care]": "the outcome does not vary in this group"},
        {"gender[T.unknown]": "gender: unknown vs male", "program_track[T.usual_care]": "program_track: usual_care vs peer_mentoring"},
    )  # fmt: skip
    assert [words.plain(n) for n in notes] == [
        "Unknown gender compared with male cannot be estimated: too few events: this group has none.",
        "Age months cannot be estimated: it is collinear.",
        "Usual care track compared with peer mentoring cannot be estimated: the outcome does not vary in this group.",
    ]


def test_chart_categories_and_table_headers_are_words():
    frame = pd.DataFrame({"format": ["one_on_one", "group"], "n_attended": [40, 12], "day_90": [15, 20]})
    assert words.plain_values(frame)["format"].tolist() == ["one-on-one", "group"]
    assert [words.header(c) for c in frame.columns] == ["format", "sessions attended", "at risk on day 90"]


def test_a_director_sees_no_code_or_column_name_by_default_on_any_page(synth_warehouse, monkeypatch):
    # every page as it opens, with the definitions in plain words; only the "For researchers" quotes of the
    # docs (for analysts) may name columns such as enrolled_on or gap_days
    monkeypatch.setenv("PEER_OUTCOMES_DB", str(synth_warehouse))
    at = AppTest.from_file(APP, default_timeout=120).run()
    for page in PAGES:
        if page is not PAGES[0]:
            at.switch_page(page.script).run()
        for section in each_section(at, page):  # every section of a page shown one section at a time
            assert not section.exception, page.name
            shown = words_shown(section)
            codes = sorted({c for t in shown for c in RAW_CODE.findall(t)})
            assert not codes, (page.name, codes)
            assert not [t for t in shown if "`" in t], page.name  # no code spans from the docs either
        plain = [e for e in at.expander if e.label == "What exactly is counted"]
        researchers = [e for e in at.expander if e.label.startswith(RESEARCHERS)]
        if page.name in OUTCOME_PAGES:
            assert plain and plain[0].markdown[0].value, page.name
            assert researchers and RAW_CODE.search(researchers[0].markdown[0].value), page.name  # the columns are there
