"""analysis.practice on the frames an export without practice files gives (empty marts), and the counts its
summaries state (the statistics themselves are checked against R in tests/reference/test_practice_against_R.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from peer_outcomes.analysis import practice

GOALS = ["time_days", "event_code", "domain"]
REFERRALS = ["resource_type", "time_days", "is_connected", "is_observable_30_days", "is_connected_30_days"]
MONTHS = ["is_active", "is_supervised", "n_incidents"]


def test_every_practice_model_returns_an_empty_summary_when_its_mart_is_empty():
    assert practice.goal_attainment(pd.DataFrame(columns=GOALS)).summary.empty
    assert practice.time_to_connection(pd.DataFrame(columns=REFERRALS)).summary.empty
    assert practice.pathway(pd.DataFrame(columns=["time_days", "is_mentor"])).summary.empty
    assert practice.referral_linkage(pd.DataFrame(columns=REFERRALS)).summary.empty
    assert practice.supervision_coverage(pd.DataFrame(columns=MONTHS)).summary.empty
    assert practice.incident_rates(pd.DataFrame(columns=MONTHS)).summary.empty
    none = practice.incident_rate_ratio(pd.DataFrame(columns=MONTHS))
    assert none.events == 0 and np.isnan(none.summary.iloc[0].rate_ratio)


def test_goal_setting_counts_observable_people_their_goals_and_who_set_any():
    people = pd.DataFrame({"is_observable_30_days": [1, 1, 1, 0], "n_goals_first_30_days": [0, 2, 3, 5],
                           "site": ["a", "a", "b", "b"]})
    fit = practice.goal_setting(people)
    row = fit.summary.iloc[0]
    assert (row.n_people, row.n_goals, row.n_with_goal) == (3, 5, 2)
    assert row.goals_per_person == pytest.approx(5 / 3) and row.share == pytest.approx(2 / 3)
    assert fit.excluded == {"enrolled under 30 days before the cutoff": 1}
    by_site = practice.goal_setting(people, group="site").summary.set_index("group")
    assert by_site.loc["a", "n_people"] == 2 and by_site.loc["b", "n_goals"] == 3


def test_supervision_coverage_counts_active_months_only():
    months = pd.DataFrame({"is_active": [1, 1, 1, 0, None], "is_supervised": [1, 0, 1, 0, None],
                           "n_incidents": [0, 1, 0, 2, 1]})
    row = practice.supervision_coverage(months).summary.iloc[0]
    assert (row.n_months, row.n_supervised) == (3, 2)
    rates = practice.incident_rates(months)
    assert rates.events == 1 and rates.excluded == {"incidents outside an active month": 3}
