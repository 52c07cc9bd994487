"""Schoenfeld events and sample sizes against published numbers."""

from __future__ import annotations

import pytest

from peer_outcomes.analysis.frames import AnalysisInputError
from peer_outcomes.analysis.power import events_needed, sample_size


@pytest.mark.parametrize(
    ("hr", "power", "expected"),
    [(0.7, 0.8, 247), (0.5, 0.9, 88), (0.5, 0.8, 66), (0.75, 0.8, 380)],
)
def test_events_needed_matches_schoenfeld_published_values(hr, power, expected):
    """Schoenfeld (1983, Biometrika 70:315–318), two-sided alpha 0.05, 1:1 allocation:
    D = 4 (z_0.975 + z_power)^2 / ln(HR)^2. HR 0.7 / 80% -> 247 events (the worked example in Collett,
    Modelling Survival Data in Medical Research, ch. 10); HR 0.5 / 90% -> 88; HR 0.5 / 80% -> 66;
    HR 0.75 / 80% -> 380 (the values tabulated by Schoenfeld's formula in standard sample-size tables)."""
    assert events_needed(hr, power=power) == expected


def test_unequal_allocation_needs_more_events():
    assert events_needed(0.7, allocation=2 / 3) > events_needed(0.7)
    assert events_needed(0.7, allocation=2 / 3) == 278  # 247 * 0.25 / (2/9), rounded up


def test_sample_size_divides_events_by_event_probability():
    assert sample_size(0.7, 0.5) == 494
    assert sample_size(0.7, 1.0) == 247


@pytest.mark.parametrize("hr", [1.0, 0.0, -0.5])
def test_impossible_hazard_ratio_is_a_plain_error(hr):
    with pytest.raises(AnalysisInputError, match="The hazard ratio must be positive and different from 1."):
        events_needed(hr)
