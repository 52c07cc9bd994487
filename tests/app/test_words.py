"""Codes read as a director's words: in sentences, in chart categories and in table headers."""

from __future__ import annotations

import pandas as pd

from peer_outcomes.dashboard import words


def test_codes_in_a_sentence_become_words_but_file_names_stay():
    said = words.plain("Reference levels — program_track: peer_mentoring; see substance_use.csv. Data cutoff (as_of)")
    assert said == "Reference levels — track: peer mentoring; see substance_use.csv. Data cutoff"


def test_chart_categories_and_table_headers_are_words():
    frame = pd.DataFrame({"format": ["one_on_one", "group"], "n_attended": [40, 12], "day_90": [15, 20]})
    assert words.plain_values(frame)["format"].tolist() == ["one-on-one", "group"]
    assert [words.header(c) for c in frame.columns] == ["format", "sessions attended", "at risk on day 90"]
