"""Disclosure control at the threshold (10 vs 11), complementary suppression, curves and small groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from peer_outcomes.analysis import suppress


def test_count_of_10_is_suppressed_and_11_is_shown():
    out = suppress.suppress_counts(pd.DataFrame({"n": [10, 11, 0, 500, 500]}), "n", margins=[])
    assert out["n"].isna().tolist() == [True, False, False, False, False]
    assert out["n"].iloc[1] == 11 and out["n"].iloc[2] == 0


def test_zero_and_one_bound_the_small_range():
    assert list(suppress.is_small(pd.Series([0, 1, 10, 11]))) == [False, True, True, False]


def test_lone_suppressed_cell_takes_the_next_smallest_with_it():
    df = pd.DataFrame({"site": list("abcd"), "n": [5, 40, 12, 300]})
    out = suppress.suppress_counts(df, "n")
    assert out.set_index("site")["n"].isna().to_dict() == {"a": True, "b": False, "c": True, "d": False}


def test_two_suppressed_cells_need_no_complement():
    out = suppress.suppress_counts(pd.DataFrame({"n": [3, 4, 50, 60]}), "n")
    assert out["n"].isna().tolist() == [True, True, False, False]


def test_complementary_suppression_protects_rows_and_columns():
    # 2 x 3 table; hiding (x, 1) forces one more in row x and one more in column 1, and so on until every
    # row and column with a hidden cell has at least two.
    df = pd.DataFrame({"row": list("xxxyyy"), "col": [1, 2, 3, 1, 2, 3], "n": [4, 30, 50, 20, 25, 90]})
    out = suppress.suppress_counts(df, "n", margins=[["row"], ["col"]])
    hidden = out["n"].isna()
    for keys in ("row", "col"):
        per_group = hidden.groupby(out[keys]).sum()
        assert not (per_group == 1).any(), f"a lone hidden cell in a {keys} is recoverable from its total"
    assert hidden.iloc[0]


def test_single_cell_group_is_not_complemented_with_nothing():
    out = suppress.suppress_counts(pd.DataFrame({"g": ["a"], "n": [3]}), "n", margins=[["g"]])
    assert out["n"].isna().all()


@pytest.mark.parametrize(
    ("num", "den", "shown"),
    [(10, 100, False), (11, 100, True), (50, 10, False), (89, 100, True), (91, 100, False), (0, 50, True)],
)
def test_rate_is_suppressed_when_numerator_denominator_or_complement_is_small(num, den, shown):
    df = pd.DataFrame({"k": [num], "n": [den]})
    out = suppress.suppress_rate(df, "k", "n", "rate", count_margins=[])
    assert out["rate"].notna().iloc[0] == shown


def test_curve_stops_before_fewer_than_11_at_risk_and_rounds():
    curve = pd.DataFrame(
        {
            "group": "All",
            "time": [0, 5, 9, 20],
            "n_at_risk": [40, 23, 11, 10],
            "n_events": [0, 1, 1, 1],
            "n_censored": [0, 0, 0, 0],
            "survival": [1.0, 0.95, 0.9, 0.8],
        }
    )
    out = suppress.truncate_curve(curve)
    assert out["time"].tolist() == [0, 5, 9]
    assert out["n_at_risk"].tolist() == [40, 25, 15]  # 11 rounds to 10, shown as 15: never a number under 11
    assert "n_events" not in out and "n_censored" not in out


def test_planted_small_group_is_removed_with_a_note():
    df = pd.DataFrame({"site": ["big"] * 11 + ["tiny"] * 10})
    kept, notes = suppress.drop_small_groups(df, ["site"])
    assert set(kept["site"]) == {"big"}
    assert len(kept) == 11
    assert notes == ["1 site group(s) with fewer than 11 people were left out to protect privacy."]


def test_threshold_can_be_raised_but_not_lowered(monkeypatch):
    monkeypatch.setenv("PEER_OUTCOMES_MIN_CELL", "5")
    assert suppress.is_small(10)
    monkeypatch.setenv("PEER_OUTCOMES_MIN_CELL", "20")
    assert suppress.is_small(15)
    assert suppress.mask_text() == "< 20"


def test_label_shows_suppressed_cells_as_less_than_11():
    df = pd.DataFrame({"n": [np.nan, 12.0]})
    assert suppress.label(df, ["n"])["n"].tolist() == ["< 11", 12.0]


def test_leaving_out_a_small_group_cannot_be_undone_from_the_total():
    df = pd.DataFrame({"site": ["a"] * 300 + ["b"] * 40 + ["tiny"] * 8, "e": [1, 0] * 174})
    counts = suppress.counts_by_group(df, "site", "e").set_index("group")
    assert np.isnan(counts.loc["tiny", "n"])
    assert np.isnan(counts.loc["b", "n"]), "total 348 - a 300 - b 40 would give tiny's 8 away"
    assert counts.loc["a", "n"] == 300


def test_small_row_counts_in_methods_text_are_masked():
    assert suppress.methods_text("KM (3 rows with missing values excluded).") == (
        "KM (< 11 rows with missing values excluded)."
    )
    assert suppress.methods_text("KM (12 rows with missing values excluded).").startswith("KM (12 rows")
