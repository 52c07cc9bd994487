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
                          "of": ["", "of 30 people"]})  # fmt: skip
    disclosure.mark(tiles, "value", tiles["key"].eq("matched"), disclosure.HIDDEN_COMPLEMENT)
    goals = pd.DataFrame({"domain": ["all domains"], "share_met": [np.nan], "share_met_lower_95": [np.nan],
                          "share_met_upper_95": [np.nan], "n_goals": [np.nan]})  # fmt: skip
    disclosure.mark(goals, "n_goals", goals["n_goals"].isna(), disclosure.HIDDEN_SMALL)
    r = {k: _pub() for k in EMPTY} | {"headline": _pub(tiles=tiles), "practice": _pub(goals=goals)}
    rows = {measure: estimate for measure, estimate, _ in headline_rows(r)}
    assert rows["Participants"] == "250"
    assert rows["Matched with a mentor (of 30 people)"] == disclosure.status_words(disclosure.HIDDEN_COMPLEMENT)
    k = disclosure.threshold()
    assert rows[f"Goals met within 180 days (of < {k} goals)"] == f"hidden (fewer than {k} people)"
    assert not any("not shown" in f"{m} {e}" for m, e in rows.items())
