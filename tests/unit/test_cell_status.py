"""Why a published cell is empty is recorded where the mask is applied (analysis.disclosure) and said in
words on pages, in CSVs (with a machine-readable `<column>_status`) and in the PDF's headline table:
"hidden (fewer than 11 people)", "hidden so other hidden figures cannot be worked out", "not reached yet"."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from statsmodels.duration.survfunc import SurvfuncRight

from peer_outcomes.analysis import disclosure, published
from peer_outcomes.analysis.queries import Filters, outcomes
from peer_outcomes.dashboard.evidence_text import headline_rows


def test_a_small_count_and_its_complement_are_hidden_for_different_reasons():
    table = pd.DataFrame({"site": ["a", "b", "c"], "n": [5, 30, 400]})  # the total is published
    out = disclosure.publish_counts(table, "n")
    assert disclosure.cell_status(out, "n").tolist() == ["hidden_small", "hidden_complementary", ""]
    shown = disclosure.label(out, ["n"])
    assert shown["n"].tolist() == ["< 11", "hidden so other hidden figures cannot be worked out", 400]
    csv = pd.read_csv(io.StringIO(disclosure.csv_text(shown)), dtype=str)
    assert csv["n_status"].tolist() == ["hidden_small", "hidden_complementary", "shown"]


def test_a_rate_on_a_complementary_count_says_so():
    table = pd.DataFrame({"k": [5, 30, 200], "n": [40, 60, 400]})
    out = disclosure.suppress_rate(table, "k", "n", "rate")
    assert disclosure.cell_status(out, "rate").tolist() == ["hidden_small", "hidden_complementary", ""]


@pytest.fixture(scope="module")
def db(synth_warehouse: Path) -> Path:
    return synth_warehouse


def test_a_median_the_curve_has_not_reached_reads_not_reached_yet(db):
    pub = published.relapse_free(db, Filters())
    df = outcomes(db, Filters(), ["relapse_days", "is_relapse"])
    sf = SurvfuncRight(df["relapse_days"].to_numpy(float), df["is_relapse"].to_numpy(float))
    assert sf.surv_prob.min() > 0.5  # statsmodels: fewer than half relapse in follow-up, so no median
    summary = pub.frames["summary"]
    assert disclosure.cell_status(summary, "median").tolist() == ["not_reached"]
    csv = pd.read_csv(io.StringIO(disclosure.csv_text(disclosure.label(summary, ["median"]))), dtype=str)
    assert (csv["median"].iloc[0], csv["median_status"].iloc[0]) == ("not reached yet", "not_reached")


def test_estimates_hidden_for_too_few_at_risk_read_hidden_in_the_report(db):
    pub = published.milestones(db, Filters())
    att = pub.frames["attainment"]
    small = att["n_observable"].notna() & (att["share"].isna())
    assert small.any()  # the 730-day milestone: too few followed that long
    assert set(disclosure.cell_status(att, "share")[small]) == {"hidden_small"}
    results = {"headline": published.headline(db, Filters()), "retention": published.retention(db, Filters()),
               "relapse_free": published.relapse_free(db, Filters()), "competing": published.competing_risks(db, Filters()),
               "milestones": pub}  # fmt: skip
    rows = {m: e for m, e, _ in headline_rows(results)}
    rates = results["retention"].frames["rates"].set_index("time")
    for t in (30, 90, 180, 365):
        expected = "hidden (fewer than 11 people)" if pd.isna(rates["survival"][t]) else f"{100 * rates['survival'][t]:.0f}%"
        assert rows[f"Still engaged at {t} days"] == expected
