"""Every model returns one result shape: a tidy summary, n fitted, events, rows excluded by reason, a
methods sentence and warnings; rows left out for missing values are counted, never dropped silently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from peer_outcomes.analysis.competing import cumulative_incidence
from peer_outcomes.analysis.cox import fit_cox
from peer_outcomes.analysis.dose import fit_time_varying_cox
from peer_outcomes.analysis.km import fit_km
from peer_outcomes.analysis.logrank import logrank_test
from peer_outcomes.analysis.milestones import fit_milestone_model
from peer_outcomes.analysis.results import ModelResult
from peer_outcomes.analysis.rmst import rmst

MISSING = 3  # rows with a missing value in a used column


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 200
    out = pd.DataFrame(
        {
            "t": rng.integers(1, 100, n).astype(float),
            "e": rng.integers(0, 2, n),
            "site": rng.choice(["North", "South"], n),
            "age": rng.normal(40, 10, n),
            "code": rng.integers(0, 4, n),
        }
    )
    out.loc[[0, 1], "t"] = np.nan
    out.loc[2, "site"] = None
    return out


@pytest.fixture(scope="module")
def long(df: pd.DataFrame) -> pd.DataFrame:
    """Counting-process rows: each person's follow-up split in two at half its time."""
    d = df.dropna(subset=["t"]).assign(id=lambda x: x.index, half=lambda x: x["t"] / 2)
    first = d.assign(start=0.0, stop=d["half"], e=0)
    second = d.assign(start=d["half"], stop=d["t"])
    rows = pd.concat([first, second]).sort_values(["id", "start"]).reset_index(drop=True)
    rows.loc[[0, 1, 2], "age"] = np.nan  # three rows (of the first two people) left out
    return rows


MODELS = {
    "km": lambda d: fit_km(d, "t", "e", "site"),
    "logrank": lambda d: logrank_test(d, "t", "e", "site"),
    "rmst": lambda d: rmst(d, "t", "e", 50, "site"),
    "competing": lambda d: cumulative_incidence(d, "t", "code", {1: "relapse", 2: "dropout", 3: "completion"}, "site"),
    "cox": lambda d: fit_cox(d, "t", "e", ["site", "age"]),
    "milestones": lambda d: fit_milestone_model(d, "e", ["site", "age", "t"]),
}


@pytest.mark.parametrize("name", MODELS)
def test_every_model_reports_n_fitted_and_rows_excluded_for_missing_values(df, name):
    res = MODELS[name](df)
    assert isinstance(res, ModelResult)
    assert isinstance(res.summary, pd.DataFrame) and len(res.summary) > 0
    assert res.n == len(df) - MISSING
    assert res.excluded == {"with missing values": MISSING} and res.n_excluded == MISSING
    assert "(3 rows with missing values excluded)" in res.method
    assert isinstance(res.warnings, tuple)


@pytest.mark.parametrize("name", MODELS)
def test_events_are_counted_among_the_rows_fitted(df, name):
    kept = df.dropna(subset=["t", "site"])
    expected = int((kept["code"] >= 1).sum()) if name == "competing" else int(kept["e"].sum())
    assert MODELS[name](df).events == expected


def test_time_varying_cox_counts_people_fitted_and_rows_excluded(long):
    res = fit_time_varying_cox(long, "id", "start", "stop", "e", ["age"])
    assert res.n == long.dropna(subset=["age"])["id"].nunique()
    assert res.excluded == {"with missing values": 3}
    assert "(3 rows with missing values excluded)" in res.method


def test_cox_and_logistic_summaries_share_the_design_labels(df):
    cox = fit_cox(df, "t", "e", ["site", "age"], categorical={"site": "South"}).summary
    logit = fit_milestone_model(df, "e", ["site", "age"], categorical={"site": "South"}).summary
    assert list(cox["label"]) == list(logit["label"]) == ["site: North vs South", "age"]
    assert np.allclose(logit["odds_ratio"], np.exp(logit["coef"]))
    assert np.allclose(cox["hr_upper_95"], np.exp(cox["coef"] + 1.959963984540054 * cox["se"]))


def test_competing_method_names_the_causes_it_was_given(df):
    res = cumulative_incidence(df, "t", "code", {1: "relapse", 2: "dropout", 3: "completion"})
    assert res.method.startswith("Cumulative incidence of relapse, dropout and completion, each competing")


@pytest.mark.parametrize(
    ("fitted", "small_groups", "sentence"),
    [
        (575, 0, "M, fitted on all 575 people."),
        (574, 0, "M, fitted on all but < 11 of the 575 people, left out with missing values."),
        (560, 0, "M, fitted on all but 15 of the 575 people, left out with missing values."),
        (560, 15, "M, fitted on the 575 people except those in groups of fewer than 11."),
        (545, 15, "M, fitted on the 575 people except those in groups of fewer than 11, and 15 with missing values."),
        (555, 15, "M, fitted on the 575 people except those in groups of fewer than 11, and < 11 with missing values."),
    ],
)
def test_published_methods_state_people_fitted_without_a_computable_small_number(fitted, small_groups, sentence):
    """N = 575 on the page: the number left out is shown only as one count of at least 11; people in
    groups too small to show are never counted (two hidden groups' total could be combined with others)."""
    from peer_outcomes.analysis.published import _fitted

    res = ModelResult(summary=pd.DataFrame(), n=fitted, events=0, how="M")
    assert _fitted(res, 575, small_groups) == sentence
