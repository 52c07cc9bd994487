"""Models on counts (people per time, event and group) equal the same models on one row per person.

The curve pages read counts from DuckDB (`queries.counts`) and never a row per participant: Kaplan–Meier,
Aalen–Johansen and the Cox model take them as frequency weights, and `disclosure.coarsen_counts` rounds them.
The row-wise models are checked against R (tests/reference); these tests hold the counted path to them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from peer_outcomes.analysis import disclosure, queries
from peer_outcomes.analysis.competing import cumulative_incidence
from peer_outcomes.analysis.cox import fit_cox
from peer_outcomes.analysis.estimability import cox_not_estimable
from peer_outcomes.analysis.frames import AnalysisInputError
from peer_outcomes.analysis.km import fit_km
from peer_outcomes.analysis.queries import Filters


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    """Day-level times with heavy ties, three categorical covariates, a cause of exit, and a few missing times."""
    rng = np.random.default_rng(11)
    n = 4000
    df = pd.DataFrame({
        "days": rng.integers(0, 300, n).astype(float),
        "event": rng.integers(0, 2, n),
        "code": rng.integers(0, 4, n),
        "site": rng.choice(["A", "B", "C"], n),
        "track": rng.choice(["x", "y"], n, p=[0.7, 0.3]),
        "age": rng.choice(["18-25", "26-40", "41+"], n),
    })  # fmt: skip
    hazard = np.where(df["site"] == "B", 1.6, 1.0) * np.where(df["track"] == "y", 0.7, 1.0)
    df["days"] = np.ceil(rng.exponential(120 / hazard)).clip(max=300)
    df.loc[[5, 17, 300], "days"] = np.nan
    return df


def _counted(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return df[cols].assign(n=1).groupby(cols, dropna=False, sort=False)["n"].sum().reset_index()


def test_kaplan_meier_on_counts_equals_it_on_rows(people):
    rows = fit_km(people, "days", "event", group="site")
    counted = fit_km(_counted(people, ["days", "event", "site"]), "days", "event", group="site", weights="n")
    pd.testing.assert_frame_equal(rows.curve, counted.curve)
    pd.testing.assert_frame_equal(rows.summary, counted.summary)
    assert (rows.n, rows.events, rows.excluded) == (counted.n, counted.events, counted.excluded) == (
        3997, rows.events, {"with missing values": 3})


def test_cumulative_incidence_on_counts_equals_it_on_rows(people):
    causes = {1: "relapse", 2: "dropout", 3: "completion"}
    rows = cumulative_incidence(people, "days", "code", causes, group="site")
    counted = cumulative_incidence(_counted(people, ["days", "code", "site"]), "days", "code", causes, group="site",
                                   weights="n")
    pd.testing.assert_frame_equal(rows.summary, counted.summary, rtol=1e-12)
    assert (rows.n, rows.events, rows.excluded) == (counted.n, counted.events, counted.excluded)


def test_cox_on_counts_equals_it_on_rows(people):
    covs = ["site", "track", "age"]
    ref = {"site": "A", "track": "x", "age": "26-40"}
    rows = fit_cox(people, "days", "event", covs, ref)
    counted = fit_cox(_counted(people, ["days", "event", *covs]), "days", "event", covs, ref, weights="n")
    pd.testing.assert_frame_equal(rows.summary, counted.summary, rtol=1e-9)
    pd.testing.assert_frame_equal(rows.ph_test, counted.ph_test, rtol=1e-9)
    assert rows.log_likelihood == pytest.approx(counted.log_likelihood, rel=1e-12)
    assert (rows.n, rows.events, rows.excluded) == (counted.n, counted.events, counted.excluded)


def test_a_level_without_events_is_found_on_counts_as_on_rows(people):
    df = people.assign(event=np.where(people["age"] == "41+", 0, people["event"]))
    x = pd.get_dummies(df[["site", "age"]], drop_first=True, dtype=float)
    reasons, keep = cox_not_estimable(x, df["days"].fillna(0).to_numpy(), df["event"].to_numpy())
    c = _counted(df.assign(days=df["days"].fillna(0)), ["days", "event", "site", "age"])
    xc = pd.get_dummies(c[["site", "age"]], drop_first=True, dtype=float)
    counted, keep_c = cox_not_estimable(xc, c["days"].to_numpy(), c["event"].to_numpy(), weights=c["n"].to_numpy())
    assert reasons == counted and "age_41+" in reasons
    assert keep.sum() == c.loc[keep_c, "n"].sum()


def test_counted_cox_refuses_clusters_in_one_sentence(people):
    with pytest.raises(AnalysisInputError, match="cannot cluster"):
        fit_cox(_counted(people, ["days", "event", "site"]).assign(c="a"), "days", "event", ["site"], cluster="c",
                weights="n")


@pytest.mark.parametrize("exact_size", [True, False])
def test_coarsened_counts_step_by_zero_or_at_least_k_and_never_add_people(people, exact_size):
    k = disclosure.threshold()
    counts = _counted(people, ["days", "code", "site"])
    out = disclosure.coarsen_counts(counts, "days", "code", "n", "site", exact_size=exact_size)
    for site, part in out.dropna(subset=["days"]).groupby("site"):
        size = int(counts.loc[counts["site"] == site].dropna(subset=["days"])["n"].sum())
        assert part["n"].sum() == (size if exact_size else size // k * k)
        running = part.groupby("code")["n"].cumsum()  # per code, times ascending: rounded up to multiples of k
        assert (running[part["days"] < part["days"].max()] % k == 0).all()
        leaving = part.groupby("days")["n"].sum().to_numpy()[:-1]  # the last time takes whoever is left
        assert (leaving >= k).all()
    assert out.loc[out["days"].isna(), "n"].sum() == 3  # missing times pass through for the model to drop


def test_counts_add_up_to_the_people_of_every_selection(synth_warehouse):
    opts = queries.filter_options(synth_warehouse)
    for f in (Filters(), Filters(sites=(opts["sites"][0],)), Filters(tracks=(opts["tracks"][-1],))):
        people = queries.outcomes(synth_warehouse, f, ["relapse_days", "is_relapse", "site"])
        counts = queries.counts(synth_warehouse, f, ["relapse_days", "is_relapse", "site"])
        assert counts["n_people"].sum() == len(people)
        per = people.groupby(["relapse_days", "is_relapse", "site"], dropna=False).size()
        got = counts.set_index(["relapse_days", "is_relapse", "site"])["n_people"]
        assert per.sort_index().to_dict() == got.sort_index().to_dict()
