"""The pack's words say why a number is empty, as the published layer recorded it: a hidden share names its
reason, a hidden count reads "< 11"; never a bare "not shown"."""

from __future__ import annotations

import numpy as np
import pandas as pd

from peer_outcomes.analysis import disclosure
from peer_outcomes.analysis.published import Published
from peer_outcomes.dashboard.evidence_text import headline_rows

EMPTY = ("retention", "relapse_free", "competing", "milestones", "cox")


def _pub(**frames: pd.DataFrame) -> Published:
    return Published(dict(frames), "", "", np.nan)


def test_hidden_headline_cells_say_why() -> None:
    tiles = pd.DataFrame({"key": ["enrolled", "matched"], "label": ["Participants", "Matched with a mentor"],
                          "value": [250.0, np.nan], "unit": ["people", "share"], "n": [np.nan, 30.0],
                          "of": ["", "of about 30 people"]})  # fmt: skip
    disclosure.mark(tiles, "value", tiles["key"].eq("matched"), disclosure.HIDDEN_COMPLEMENT)
    goals = pd.DataFrame({"domain": ["all domains"], "share_met": [np.nan], "share_met_lower_95": [np.nan],
                          "share_met_upper_95": [np.nan], "n_goals": [np.nan]})  # fmt: skip
    disclosure.mark(goals, "n_goals", goals["n_goals"].isna(), disclosure.HIDDEN_SMALL)
    r = {k: _pub() for k in EMPTY} | {"headline": _pub(tiles=tiles), "practice": _pub(goals=goals)}
    rows = {measure: estimate for measure, estimate, _ in headline_rows(r)}
    assert rows["Participants"] == "250"
    assert rows["Matched with a mentor (of about 30 people)"] == disclosure.status_words(disclosure.HIDDEN_COMPLEMENT)
    k = disclosure.threshold()
    assert rows[f"Goals met within 180 days (of < {k} goals)"] == f"hidden (fewer than {k} people)"
    assert not any("not shown" in f"{m} {e}" for m, e in rows.items())


def test_a_rounded_denominator_reads_about() -> None:
    """Published counts are rounded to 5, so a 28-person share reads "of about 30" beside "N = 28"; a hidden
    one still reads "< 11" and an exact 0 stays 0 (nothing new is published)."""
    goals = pd.DataFrame({"domain": ["all domains"], "share_met": [0.5], "share_met_lower_95": [0.33],
                          "share_met_upper_95": [0.67], "n_goals": [30.0]})  # fmt: skip
    tiles = pd.DataFrame({"key": ["enrolled"], "label": ["Participants"], "value": [28.0], "unit": ["people"],
                          "n": [np.nan], "of": [""]})  # fmt: skip
    r = {k: _pub() for k in EMPTY} | {"headline": _pub(tiles=tiles), "practice": _pub(goals=goals)}
    rows = {measure: estimate for measure, estimate, _ in headline_rows(r)}
    assert rows["Participants"] == "28"
    assert rows["Goals met within 180 days (of about 30 goals)"] == "50%"
    assert [disclosure.rounded_text(v) for v in (1235.0, 0.0, np.nan)] == ["about 1,235", "0", f"< {disclosure.threshold()}"]
