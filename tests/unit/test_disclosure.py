"""Disclosure control at the threshold (10 vs 11, and 19 vs 20 when raised), complementary suppression,
curves, small groups, and the sentences that name the threshold."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from peer_outcomes.analysis import disclosure


def test_count_of_10_is_suppressed_and_11_is_shown():
    out = disclosure.suppress_counts(pd.DataFrame({"n": [10, 11, 0, 500, 500]}), "n", margins=[])
    assert out["n"].isna().tolist() == [True, False, False, False, False]
    assert out["n"].iloc[1] == 11 and out["n"].iloc[2] == 0


def test_zero_and_one_bound_the_small_range():
    assert list(disclosure.is_small(pd.Series([0, 1, 10, 11]))) == [False, True, True, False]


def test_lone_suppressed_cell_takes_the_next_smallest_with_it():
    df = pd.DataFrame({"site": list("abcd"), "n": [5, 40, 12, 300]})
    out = disclosure.suppress_counts(df, "n")
    assert out.set_index("site")["n"].isna().to_dict() == {"a": True, "b": False, "c": True, "d": False}


def test_two_suppressed_cells_need_no_complement():
    out = disclosure.suppress_counts(pd.DataFrame({"n": [3, 4, 50, 60]}), "n")
    assert out["n"].isna().tolist() == [True, True, False, False]


def test_complementary_suppression_protects_rows_and_columns():
    # 2 x 3 table; hiding (x, 1) forces one more in row x and one more in column 1, and so on until every
    # row and column with a hidden cell has at least two.
    df = pd.DataFrame({"row": list("xxxyyy"), "col": [1, 2, 3, 1, 2, 3], "n": [4, 30, 50, 20, 25, 90]})
    out = disclosure.suppress_counts(df, "n", margins=[["row"], ["col"]])
    hidden = out["n"].isna()
    for keys in ("row", "col"):
        per_group = hidden.groupby(out[keys]).sum()
        assert not (per_group == 1).any(), f"a lone hidden cell in a {keys} is recoverable from its total"
    assert hidden.iloc[0]


def test_single_cell_group_is_not_complemented_with_nothing():
    out = disclosure.suppress_counts(pd.DataFrame({"g": ["a"], "n": [3]}), "n", margins=[["g"]])
    assert out["n"].isna().all()


@pytest.mark.parametrize(
    ("num", "den", "shown"),
    [(10, 100, False), (11, 100, True), (50, 10, False), (89, 100, True), (91, 100, False), (0, 50, True)],
)
def test_rate_is_suppressed_when_numerator_denominator_or_complement_is_small(num, den, shown):
    df = pd.DataFrame({"k": [num], "n": [den]})
    out = disclosure.suppress_rate(df, "k", "n", "rate", count_margins=[])
    assert out["rate"].notna().iloc[0] == shown


def test_curve_stops_before_fewer_than_11_at_risk_and_drops_per_time_counts():
    curve = pd.DataFrame(
        {
            "group": "All",
            "time": [0, 5, 9, 20],
            "n_at_risk": [40, 29, 11, 10],
            "n_events": [0, 11, 18, 1],
            "n_censored": [0, 0, 0, 0],
            "survival": [1.0, 0.95, 0.9, 0.8],
        }
    )
    out = disclosure.truncate_curve(curve)
    assert out["time"].tolist() == [0, 5, 9]
    assert out["n_at_risk"].tolist() == [40, 29, 11]
    assert "n_events" not in out and "n_censored" not in out


def test_planted_small_group_is_removed_with_a_note():
    df = pd.DataFrame({"site": ["big"] * 11 + ["tiny"] * 10})
    kept, notes = disclosure.drop_small_groups(df, ["site"])
    assert set(kept["site"]) == {"big"}
    assert len(kept) == 11
    assert notes == ["1 group by site with fewer than 11 people was left out to protect privacy."]


def test_threshold_can_be_raised_but_not_lowered(monkeypatch):
    monkeypatch.setenv("PEER_OUTCOMES_MIN_CELL", "5")
    assert disclosure.is_small(10)
    monkeypatch.setenv("PEER_OUTCOMES_MIN_CELL", "20")
    assert disclosure.is_small(15)
    assert disclosure.mask_text() == "< 20"


def test_label_shows_suppressed_cells_as_less_than_11():
    df = pd.DataFrame({"n": [np.nan, 12.0]})
    assert disclosure.label(df, ["n"])["n"].tolist() == ["< 11", 12.0]


def test_small_row_counts_in_methods_text_are_masked():
    assert disclosure.methods_text("KM (3 rows with missing values excluded).") == (
        "KM (< 11 rows with missing values excluded)."
    )
    assert disclosure.methods_text("KM (12 rows with missing values excluded).").startswith("KM (12 rows")


# Every kind of mask, at k - 1 and k, with the default threshold and with it raised to 20.
EDGES = pytest.mark.parametrize("k", [11, 20])


@pytest.fixture
def at_k(monkeypatch: pytest.MonkeyPatch):
    def set_k(k: int) -> int:
        monkeypatch.setenv("PEER_OUTCOMES_MIN_CELL", str(k))
        return k

    return set_k


@EDGES
def test_a_count_of_k_minus_1_is_hidden_and_k_is_shown(at_k, k):
    at_k(k)
    out = disclosure.suppress_counts(pd.DataFrame({"n": [k - 1, k, k - 1, 500]}), "n", margins=[])
    assert out["n"].isna().tolist() == [True, False, True, False]


@EDGES
def test_a_rate_hides_below_k_in_numerator_denominator_and_complement(at_k, k):
    at_k(k)
    df = pd.DataFrame({"k": [k - 1, k, 100 - (k - 1), 100 - k, k - 1], "n": [100, 100, 100, 100, k - 1]})
    out = disclosure.suppress_rate(df, "k", "n", "rate", count_margins=[])
    assert out["rate"].notna().tolist() == [False, True, False, True, False]


@EDGES
def test_an_estimate_needs_k_at_risk(at_k, k):
    at_k(k)
    assert np.isnan(disclosure.estimate(0.8, k - 1)) and disclosure.estimate(0.8, k) == 0.8
    table = pd.DataFrame({"n_at_risk": [k - 1, k], "survival": [0.5, 0.6], "lower_95": 0.4, "upper_95": 0.7})
    masked = disclosure.mask_estimates(table)
    assert masked["survival"].isna().tolist() == [True, False]
    assert masked["upper_95"].isna().tolist() == [True, False]


@EDGES
def test_a_mean_and_quantiles_need_k_people(at_k, k):
    at_k(k)
    assert np.isnan(disclosure.mean(pd.Series([1.0] * (k - 1) + [np.nan])))
    assert disclosure.mean(pd.Series([2.0] * k)) == 2.0
    assert all(np.isnan(disclosure.quantiles(pd.Series(range(k - 1)), [0.25, 0.5])))
    assert disclosure.quantiles(pd.Series(range(k)), [0.5]) == [(k - 1) / 2]


@EDGES
def test_table_rows_need_k_people(at_k, k):
    at_k(k)
    rows = disclosure.rows_with_enough(pd.DataFrame({"n_people": [k - 1, k]}), "n_people")
    assert rows["n_people"].tolist() == [k]


@EDGES
def test_a_median_is_hidden_where_fewer_than_k_were_still_followed(at_k, k):
    at_k(k)
    times = np.arange(100.0)  # k people followed to >= 100 - k
    assert disclosure.hide_time_past_curve(100 - k, times) == 100 - k
    assert np.isnan(disclosure.hide_time_past_curve(100 - k + 1, times))


@EDGES
def test_a_hazard_ratio_needs_k_events(at_k, k):
    at_k(k)
    forest = pd.DataFrame({"term": ["a", "b"], "hr": 2.0, "hr_lower_95": 1.0, "hr_upper_95": 3.0, "p": 0.01})
    out, notes = disclosure.mask_sparse_terms(forest, {"a": k - 1, "b": k})
    assert out["hr"].isna().tolist() == [True, False]
    assert notes == [f"1 level with fewer than {k} relapses (or an estimate that does not converge) is shown "
                     "as not estimable: its hazard ratio is left blank."]  # fmt: skip


@EDGES
def test_an_event_rate_needs_k_events_and_k_people(at_k, k):
    at_k(k)
    df = pd.DataFrame({"e": [k - 1, k, k, 200], "w": 1000, "p": [50, 50, k - 1, 50]})
    out = disclosure.suppress_event_rate(df, "e", "w", "rate", "p")
    assert out["rate"].notna().tolist() == [False, False, False, True], "k hidden as the complement: no rate"
    assert out["e"].isna().tolist() == [True, True, False, False], "the lone hidden count takes a complement"
    assert out["rate"].iloc[3] == 100 * 200 / 1000


@EDGES
def test_curves_stop_before_fewer_than_k_at_risk(at_k, k):
    at_k(k)
    curve = pd.DataFrame({"group": "All", "time": [0, 1, 2], "n_at_risk": [100, k, k - 1], "survival": 1.0})
    assert disclosure.truncate_curve(curve)["time"].tolist() == [0, 1]
    rows = pd.DataFrame({"g": "All", "t": np.arange(100.0)})  # at time t, 100 - t remain
    cif = pd.DataFrame({"group": "All", "time": [0.0, 100.0 - k, 100.0 - k + 1]})
    assert disclosure.truncate_incidence(cif, rows, "g", "t")["time"].tolist() == [0.0, 100.0 - k]


@EDGES
def test_numbers_at_risk_are_hidden_below_k(at_k, k):
    at_k(k)
    out = disclosure.at_risk(pd.Series([k - 1, k, 100]))
    assert np.isnan(out.iloc[0]) and out.iloc[1] == k and out.iloc[2] == 100


@EDGES
def test_groups_of_fewer_than_k_are_left_out(at_k, k):
    at_k(k)
    df = pd.DataFrame({"site": ["big"] * k + ["small"] * (k - 1)})
    kept, notes = disclosure.drop_small_groups(df, ["site"])
    assert set(kept["site"]) == {"big"}
    assert notes == [f"1 group by site with fewer than {k} people was left out to protect privacy."]


@EDGES
def test_population_sizes_and_methods_counts_below_k_are_masked(at_k, k):
    at_k(k)
    assert disclosure.count_text(k - 1) == f"< {k}" and disclosure.count_text(k) == f"{k}"
    assert disclosure.methods_text(f"KM ({k - 1} rows excluded).") == f"KM (< {k} rows excluded)."
    assert disclosure.methods_text(f"KM ({k} rows excluded).") == f"KM ({k} rows excluded)."
    assert disclosure.label(pd.DataFrame({"n": [np.nan]}), ["n"])["n"].tolist() == [f"< {k}"]


@EDGES
def test_enrollment_periods_close_when_every_cell_holds_0_or_k(at_k, k):
    from peer_outcomes.analysis import population

    at_k(k)
    assert population._valid(pd.Series([0, k])) and not population._valid(pd.Series([0, k - 1]))


def test_every_sentence_names_the_raised_threshold_and_never_11(at_k):
    at_k(20)
    sentences = [disclosure.policy_sentence(), disclosure.methods_sentence(), disclosure.counts_sentence(),
                 disclosure.too_few_sentence(), disclosure.curve_stop_sentence(), disclosure.not_shown_sentence(),
                 disclosure.small_groups_sentence()]  # fmt: skip
    for s in sentences:
        assert "20" in s and "11" not in s and "10" not in s, s
    assert disclosure.policy_sentence() == "Numbers describing fewer than 20 people are hidden (“< 20”)."
    assert "Counts of 1–19 people" in disclosure.methods_sentence()


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralized_and_numbers_are_not():
    df = pd.DataFrame({"site": ["=HYPERLINK(\"x\")", "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "\tx", "\rx", "east"],
                       "n": [-5, 1, 2, 3, 4, 5, 6]})  # fmt: skip
    header, *rows = csv.reader(io.StringIO(disclosure.csv_text(df), newline=""))
    assert header == ["site", "n"]
    assert [r[0] for r in rows] == ["'" + v for v in df["site"][:6]] + ["east"]
    assert [r[1] for r in rows] == ["-5", "1", "2", "3", "4", "5", "6"], "a negative number is a number, not a formula"
    assert disclosure.neutralize("\tx") == "'\tx" and disclosure.neutralize("\rx") == "'\rx"


@EDGES
def test_shown_counts_are_rounded_to_5_and_never_below_k(at_k, k):
    at_k(k)
    out = disclosure.round_counts(pd.Series([0, k, 22, 23, 1002, np.nan]))
    floor = -(-k // 5) * 5
    assert out.iloc[0] == 0 and out.iloc[1] == floor and out.iloc[2] == max(20, floor) and out.iloc[3] == max(25, floor)
    assert out.iloc[4] == 1000 and np.isnan(out.iloc[5])


def test_a_rate_is_computed_from_the_rounded_counts_so_rate_times_denominator_gives_only_those():
    out = disclosure.suppress_rate(pd.DataFrame({"k": [43], "n": [101]}), "k", "n", "rate", count_margins=[])
    assert (out["k"].iloc[0], out["n"].iloc[0]) == (45, 100)
    assert out["rate"].iloc[0] * out["n"].iloc[0] == pytest.approx(45)


def test_a_small_complement_hides_the_numerator_as_well_as_the_rate():
    out = disclosure.suppress_rate(pd.DataFrame({"k": [12], "n": [18]}), "k", "n", "rate", count_margins=[])
    assert np.isnan(out["k"].iloc[0]) and np.isnan(out["rate"].iloc[0]), "18 - 12 would give 6 away"
    assert out["n"].iloc[0] == 20


@EDGES
@pytest.mark.parametrize("exact_size", [True, False])
def test_coarsened_curves_move_only_in_steps_of_0_or_k_and_never_overstate_the_number_at_risk(at_k, k, exact_size):
    from peer_outcomes.analysis.km import fit_km

    at_k(k)
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"t": rng.integers(0, 200, 157).astype(float), "e": rng.integers(0, 2, 157)})
    rows = disclosure.coarsen(df, "t", "e", exact_size=exact_size)
    assert len(rows) == (157 if exact_size else 157 // k * k)
    curve = disclosure.truncate_curve(fit_km(rows, "t", "e").curve)
    n, s = curve["n_at_risk"].to_numpy(), curve["survival"].to_numpy()
    for x in (*(n[1:] * (1 - s[1:] / s[:-1])), *(n[:-1] - n[1:])):
        assert round(x) % k == 0, x
    real = np.array([(df["t"] >= t).sum() for t in curve["time"]])
    assert (n <= real).all() and (n >= k).all()


def test_coarsening_a_group_keeps_its_missing_rows_for_the_model_to_report():
    df = pd.DataFrame({"t": [1.0, 2.0, np.nan] + [5.0] * 20, "e": [1, 0, 1] + [0] * 20, "g": ["a"] * 23})
    rows = disclosure.coarsen(df, "t", "e", "g")
    assert rows["t"].isna().sum() == 1 and len(rows) == 23
    assert rows.loc[rows["t"] == 1.0, "e"].tolist() == [1] * 11, "1 event rounded up to 11"


def test_the_participants_file_row_counts_are_blank_and_other_files_exact():
    batches = pd.DataFrame({"entity": ["participants", "sessions"], "rows_read": [3000, 51],
                            "rows_loaded": [3000, 50], "rows_quarantined": [0, 1]})  # fmt: skip
    out = disclosure.load_counts(batches)
    assert out["rows_loaded"].isna().tolist() == [True, False] and out["rows_read"].isna().tolist() == [True, False]
    assert out["rows_quarantined"].tolist() == [0, 1]
