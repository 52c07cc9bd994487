"""Kaplan–Meier: the curve's shape, undefined estimates past follow-up, and plain-sentence errors on bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from peer_outcomes.analysis.frames import AnalysisInputError
from peer_outcomes.analysis.km import fit_km

COLS = ["survival", "lower_95", "upper_95"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """Day-level times with heavy ties, events at day 0, and a small group whose curve reaches 0."""
    rng = np.random.default_rng(3)
    n = 5000
    df = pd.DataFrame(
        {
            "days": rng.integers(0, 400, n),
            "event": rng.integers(0, 2, n),
            "site": rng.choice(["A", "B", "C"], n),
        }
    )
    tiny = pd.DataFrame({"days": [3, 5, 5, 9], "event": [1, 0, 1, 1], "site": "D"})
    return pd.concat([df, tiny], ignore_index=True)


def test_curve_starts_at_time_zero_with_everyone_at_risk_then_day_zero_events(frame):
    curve = fit_km(frame, "days", "event", "site").curve
    first = curve.groupby("group").head(2)
    anchors, day0 = first.iloc[::2], first.iloc[1::2]
    assert (anchors["time"] == 0).all() and (anchors["survival"] == 1).all()
    assert (anchors["n_at_risk"].to_numpy() == frame.groupby("site").size().to_numpy()).all()
    assert (day0[day0["group"] != "D"]["time"] == 0).all()  # events on day 0 get their own row
    assert np.allclose(day0["survival"], 1 - day0["n_events"] / day0["n_at_risk"])
    assert (day0["n_events"] > 0).any()


def test_curve_that_reaches_zero_has_no_confidence_interval(frame):
    d = fit_km(frame, "days", "event", "site").curve.query("group == 'D'")
    assert d["survival"].iloc[-1] == 0
    assert np.isnan(d["lower_95"].iloc[-1]) and np.isnan(d["upper_95"].iloc[-1])


def test_survival_beyond_last_follow_up_is_undefined_not_carried_forward(frame):
    at = fit_km(frame, "days", "event", "site").at([30, 1000]).set_index(["group", "time"])
    assert np.isnan(at.loc[("A", 1000.0), "survival"]) and at.loc[("A", 1000.0), "n_at_risk"] == 0
    assert 0 < at.loc[("A", 30.0), "survival"] < 1


def test_missing_rows_are_left_out_and_said_so_in_the_method():
    df = pd.DataFrame({"t": [1, 2, 3, None], "e": [1, 0, 1, 1]})
    fit = fit_km(df, "t", "e")
    assert fit.n == 3 and "(1 row with missing values excluded)" in fit.method


@pytest.mark.parametrize(
    ("df", "message"),
    [
        (pd.DataFrame({"t": [1, 2]}), "The data has no column(s) 'e'."),
        (pd.DataFrame({"t": [1, -2], "e": [1, 0]}), "The duration column 't' has negative times."),
        (pd.DataFrame({"t": [1, 2], "e": [1, 2]}), "The event column 'e' must hold only 0 (censored) and 1 (event)."),
        (pd.DataFrame({"t": ["a", "b"], "e": [1, 0]}), "The duration column 't' must be numeric."),
    ],
)
def test_bad_input_ends_in_one_plain_sentence(df, message):
    with pytest.raises(AnalysisInputError) as info:
        fit_km(df, "t", "e")
    assert str(info.value) == message
