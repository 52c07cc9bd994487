"""The practice page's masks (analysis.disclosure.suppress_share_ci, suppress_event_rate_ci) at 10 and 11,
and CIs computed from the published counts only."""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import confint_poisson

from peer_outcomes.analysis import disclosure


def test_a_share_of_10_is_hidden_and_of_11_shown_with_its_wilson_ci_from_the_rounded_counts():
    df = pd.DataFrame({"g": ["a", "b", "c"], "k": [10, 11, 30], "n": [40, 37, 80], "people": [40, 37, 80]})
    out = disclosure.suppress_share_ci(df, "k", "n", "share", "people", count_margins=[])
    assert out["share"].isna().tolist() == [True, False, False]
    assert out.loc[1, "k"] == 15 and out.loc[1, "n"] == 35  # 11 shown as 15 (rounded, never below k); 37 as 35
    ref = proportion_confint(15, 35, method="wilson")
    assert out.loc[1, "share"] == 15 / 35
    assert (out.loc[1, "share_lower_95"], out.loc[1, "share_upper_95"]) == tuple(np.float64(v) for v in ref)
    assert out.loc[0, ["k", "share_lower_95", "share_upper_95"]].isna().all()
    assert "people" not in out


def test_a_row_of_fewer_than_k_people_hides_its_share_and_a_complementary_row():
    df = pd.DataFrame({"g": ["a", "b", "c"], "k": [40, 50, 60], "n": [80, 100, 120], "people": [10, 60, 70]})
    out = disclosure.suppress_share_ci(df, "k", "n", "share", "people")
    assert out["share"].isna().tolist() == [True, True, False]  # b is hidden too: a = total - b - c otherwise
    assert out["k"].isna().tolist() == [True, True, False] and out["n"].isna().tolist() == [True, True, False]


def test_an_incident_count_under_k_is_never_shown_nor_its_rate():
    df = pd.DataFrame({"site": ["a", "b", "c", "d"], "events": [10, 11, 0, 40], "months": [300, 400, 500, 900],
                       "people": [20, 20, 20, 5]})  # fmt: skip
    out = disclosure.suppress_event_rate_ci(df, "events", "months", "rate", "people")
    shown = out["events"].dropna()
    assert ((shown == 0) | (shown >= disclosure.threshold())).all()
    assert out["events"].isna().tolist() == [True, False, False, True]  # d: only 5 mentors behind it
    assert out.loc[3, ["months", "rate"]].isna().all() and out["months"].isna().sum() == 2  # and a complement
    assert out.loc[2, "rate"] == 0 and out.loc[2, "rate_upper_95"] > 0  # zero may be shown, with its bound
    lo, hi = confint_poisson(out.loc[1, "events"], out.loc[1, "months"], method="exact-c")
    assert np.allclose([out.loc[1, "rate_lower_95"], out.loc[1, "rate_upper_95"]], [100 * lo, 100 * hi])
