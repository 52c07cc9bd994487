"""Models refuse frames they cannot analyse with one plain sentence, and code categoricals as asked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from peer_outcomes.analysis.competing import cumulative_incidence
from peer_outcomes.analysis.cox import fit_cox
from peer_outcomes.analysis.design import build_design
from peer_outcomes.analysis.frames import AnalysisInputError
from peer_outcomes.analysis.logrank import logrank_test
from peer_outcomes.analysis.milestones import fit_milestone_model
from peer_outcomes.analysis.rmst import rmst


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 300
    return pd.DataFrame(
        {
            "t": rng.integers(1, 100, n),
            "e": rng.integers(0, 2, n),
            "site": rng.choice(["North", "South", "West"], n),
            "age": rng.normal(40, 10, n),
            "same": 1,
            "code": rng.integers(0, 3, n),
        }
    )


def test_categorical_uses_the_named_reference_and_readable_labels(df):
    design = build_design(df, ["site", "age"], {"site": "West"})
    assert list(design.x.columns) == ["site[T.North]", "site[T.South]", "age"]
    assert design.labels["site[T.North]"] == "site: North vs West"
    assert design.terms == {"site": [0, 1], "age": [2]}


def test_text_covariate_without_reference_uses_first_level(df):
    fit = fit_cox(df, "t", "e", ["site"])
    assert list(fit.summary["label"]) == ["site: South vs North", "site: West vs North"]
    assert list(fit.ph_test["term"]) == ["site", "GLOBAL"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda d: fit_cox(d, "t", "e", ["site"], {"site": "East"}), "The reference level 'East' does not occur in 'site'."),
        (lambda d: fit_cox(d, "t", "e", ["same"]), "The covariate column(s) same do not vary in these data."),
        (lambda d: fit_cox(d, "t", "e", []), "A Cox model needs at least one covariate."),
        (lambda d: fit_cox(d, "t", "e", ["mentor"]), "The data has no column(s) 'mentor'."),
        (lambda d: logrank_test(d, "t", "e", "same"), "The log-rank test needs at least two groups in 'same'."),
        (lambda d: rmst(d, "t", "e", 0), "The RMST horizon tau must be a positive number of days."),
        (lambda d: cumulative_incidence(d, "t", "code", {1: "relapse"}),
         "The event code column 'code' has codes not named in causes: [2]."),
        (lambda d: fit_milestone_model(d, "same", ["age"]),
         "The outcome 'same' does not vary, so odds ratios cannot be estimated."),
    ],
)
def test_model_input_mistakes_end_in_one_sentence(df, call, message):
    with pytest.raises(AnalysisInputError) as info:
        call(df)
    assert str(info.value) == message


def test_a_categorical_column_is_coded_as_its_text_would_be() -> None:
    """The relapse page hands the Cox model its covariates as categoricals (codes, not text per row): the
    design, labels and terms are those of the same values as text, unused categories never become columns."""
    values = ["b", "a", "c", "a", "d", "b", "c", "a"]
    text = pd.DataFrame({"g": values})
    coded = pd.DataFrame({"g": pd.Categorical(values, categories=["d", "c", "b", "a", "unused"])})
    for reference in ({"g": "c"}, None):
        a, b = build_design(text, ["g"], reference), build_design(coded, ["g"], reference)
        pd.testing.assert_frame_equal(a.x, b.x)
        assert a.labels == b.labels and a.terms == b.terms
    assert list(build_design(coded, ["g"], {"g": "c"}).x.columns) == ["g[T.a]", "g[T.b]", "g[T.d]"]
