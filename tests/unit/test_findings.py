"""The evidence pack's key findings from the relapse model, phrased for a funder: who relapsed sooner than
whom, with the hazard ratio and its CI, the direction read off the CI, and every code in plain words."""

from __future__ import annotations

import numpy as np
import pandas as pd

from peer_outcomes.dashboard.evidence_text import comparisons


def _forest(*rows: tuple[str, str, float, float, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"term": t, "label": label, "hr": hr, "hr_lower_95": lo, "hr_upper_95": hi, "p": 0.01} for t, label, hr, lo, hi in rows]
    )


TRACK = ("program_track[T.usual_care]", "program_track: usual_care vs peer_mentoring")


def test_a_ci_above_1_reads_sooner_and_says_it_is_an_association():
    assert comparisons(_forest((*TRACK, 1.51, 1.29, 1.78))) == [
        "People in usual care relapsed sooner than people with a peer mentor (hazard ratio 1.51, 95% CI "
        "1.29–1.78); this is an association, not proof of cause."
    ]


def test_a_ci_below_1_reads_later_and_one_spanning_1_reads_no_clear_difference():
    below = comparisons(_forest((*TRACK, 0.70, 0.55, 0.89)))
    assert below[0].startswith("People in usual care relapsed later than people with a peer mentor (hazard ratio 0.70")
    spanning = comparisons(_forest((*TRACK, 1.30, 0.95, 1.78)))
    assert spanning[0].startswith(
        "There was no clear difference in time to relapse between people in usual care and people with a peer "
        "mentor (hazard ratio 1.30, 95% CI 0.95–1.78)"
    )


def test_the_track_comes_first_then_the_clearest_other_differences_in_plain_words():
    found = comparisons(_forest(
        ("age_group[T.45-54]", "age_group: 45-54 vs 25-34", 1.26, 1.01, 1.58),
        ("housing_at_intake[T.homeless]", "housing_at_intake: homeless vs stable", 2.0, 1.5, 2.7),
        ("primary_substance[T.opioids]", "primary_substance: opioids vs alcohol", 1.1, 0.9, 1.3),  # not clear
        ("gender[T.unknown]", "gender: unknown vs male", np.nan, np.nan, np.nan),  # not estimable
        (*TRACK, 1.10, 0.90, 1.34),
    ))  # fmt: skip
    assert [s.split(" (")[0] for s in found] == [
        "There was no clear difference in time to relapse between people in usual care and people with a peer mentor",
        "People homeless at intake relapsed sooner than people stably housed at intake",
        "People aged 45 to 54 relapsed sooner than people aged 25 to 34",
    ]
    assert not any("_" in s or " vs " in s for s in found)


def test_without_a_track_or_any_clear_difference_the_finding_says_so():
    assert comparisons(_forest(("primary_substance[T.opioids]", "primary_substance: opioids vs alcohol", 1.1, 0.9, 1.3))) == [
        "No characteristic in the relapse model was clearly associated with time to relapse."
    ]
    assert comparisons(pd.DataFrame()) == []
