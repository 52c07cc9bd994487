"""The dose model on the Engagement page: fitted at any size (no row limit), equal to lifelines'
CoxTimeVaryingFitter on the same rows, the same from rows counted per cell (aggregates.week_counts) as from
every participant-week, and withheld with a plain sentence when relapses are too few."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from lifelines import CoxTimeVaryingFitter

from peer_outcomes.analysis import published
from peer_outcomes.analysis.queries import Filters

# Everyone outside site x track cells of fewer than 11 (the published base population, written out here).
BASE = (
    "[site, coalesce(program_track, 'none')] in (select [site, coalesce(program_track, 'none')] "
    "from marts.participant_outcomes group by all having count(*) >= 11)"
)


def test_the_dose_model_equals_lifelines_time_varying_cox_on_the_same_rows(synth_warehouse: Path):
    with duckdb.connect(str(synth_warehouse), read_only=True) as con:
        long = con.execute(
            "select participant_key, week, start_days, stop_days, is_relapse, n_attended from marts.dose_weekly "
            f"where participant_key in (select participant_key from marts.participant_outcomes where {BASE})"
        ).df()
    long = long.sort_values(["participant_key", "week"])
    long["prev"] = long.groupby("participant_key")["n_attended"].shift(1).fillna(0)
    ctv = CoxTimeVaryingFitter().fit(
        long[["participant_key", "start_days", "stop_days", "is_relapse", "prev"]], id_col="participant_key",
        event_col="is_relapse", start_col="start_days", stop_col="stop_days", fit_options={"precision": 1e-10},
    )
    pub = published.engagement(synth_warehouse, Filters())
    row = pub.frames["dose_cox"].set_index("term").loc["prev_week_sessions"]
    # lifelines stops on its Newton decrement, ~1e-6 short of the optimum (docs/methods.md)
    assert np.isclose(np.log(row["hr"]), ctv.params_["prev"], rtol=0, atol=1e-5)
    lower = np.exp(ctv.params_["prev"] - 1.959963984540054 * ctv.standard_errors_["prev"])
    assert np.isclose(row["hr_lower_95"], lower, rtol=1e-5)
    assert not any("participant-weeks" in note for note in pub.notes)


def test_too_few_relapses_withholds_the_dose_model_with_a_sentence(program):
    pub = published.engagement(program("no_relapses"), Filters())
    assert pub.frames["dose_cox"].empty
    assert "Fewer than 11 relapses in this selection, so no dose model is fitted." in pub.notes


def _selections(db: Path) -> list[Filters]:
    opts = published.filter_options(db)
    return [Filters(), Filters(sites=(opts["sites"][0],)), Filters(tracks=(opts["tracks"][-1],))]


def _fits_agree(a, b) -> None:
    """Two fits of the same model: same terms, estimates and bounds to 1e-10, same events."""
    x, y = a.summary.set_index("term"), b.summary.set_index("term")
    assert list(x.index) == list(y.index)
    for col in ("hr", "hr_lower_95", "hr_upper_95", "p"):
        assert np.allclose(x[col].to_numpy(float), y[col].to_numpy(float), rtol=1e-10, atol=0), col
    assert a.events == b.events


def test_the_dose_model_on_rows_counted_per_cell_equals_the_model_on_every_participant_week(synth_warehouse: Path):
    """aggregates.week_counts sums alike participant-weeks per cell; the fit weighted by those counts is the
    fit on the participant-weeks themselves (queries.dose_rows: the mart's rows with the lag in numpy),
    and its people are those with weekly rows."""
    from peer_outcomes.analysis import queries
    from peer_outcomes.analysis.dose import fit_time_varying_cox

    for f in _selections(synth_warehouse):
        f = published.population.snap(f, published.population.enrollment_periods(synth_warehouse))
        rows = queries.dose_rows(synth_warehouse, f)
        counted = queries.week_counts(synth_warehouse, f, ["n_attended_prev_week"])
        assert counted["n_rows"].sum() == len(rows) and len(counted) < len(rows) / 3
        people = int(queries.week_bands(synth_warehouse, f, "any_week")["n_people"].sum())
        assert people == rows["participant_key"].nunique()
        whole = fit_time_varying_cox(rows, "participant_key", "start_days", "stop_days", "is_relapse", ["prev_week_sessions"])
        cells = fit_time_varying_cox(counted.rename(columns={"n_attended_prev_week": "prev_week_sessions"}), None,
                                     "start_days", "stop_days", "is_relapse", ["prev_week_sessions"], weights="n_rows",
                                     n_people=people)  # fmt: skip
        _fits_agree(whole, cells)
        assert whole.n == cells.n


def test_dose_bands_summed_over_cells_equal_the_bands_of_every_participant_week(synth_warehouse: Path):
    from peer_outcomes.analysis import queries

    for f in _selections(synth_warehouse):
        f = published.population.snap(f, published.population.enrollment_periods(synth_warehouse))
        want = queries.dose_bands(queries.dose_rows(synth_warehouse, f))
        got = queries.week_bands(synth_warehouse, f, "sessions_last_week")
        assert got.to_dict("list") == want.to_dict("list")


def test_the_check_in_model_and_bands_from_cells_equal_those_of_matched_participant_weeks(synth_warehouse: Path):
    """The Mentoring practice page's check-in Cox model and bands, from the per-cell aggregates, against the
    rows of marts.check_in_weekly for matched participants counted and fitted directly."""
    from peer_outcomes.analysis import practice
    from peer_outcomes.analysis import practice_queries as pq

    with duckdb.connect(str(synth_warehouse), read_only=True) as con:
        rows = con.execute(
            "select w.participant_key, start_days, stop_days, w.is_relapse, n_reached_prev_week, n_attended_prev_week "
            "from marts.check_in_weekly w join marts.participant_outcomes p using (participant_key) "
            f"where p.is_matched = 1 and {BASE} order by participant_key, start_days"
        ).df()
    f = Filters()
    _fits_agree(practice.check_in_relapse(rows), practice.check_in_relapse(pq.check_in_rows(synth_warehouse, f)))
    band = np.where(rows["n_reached_prev_week"] >= 2, "2+", rows["n_reached_prev_week"].astype(str))
    want = rows.groupby(band).agg(person_weeks=("is_relapse", "size"), n_relapses=("is_relapse", "sum"),
                                  n_people=("participant_key", "nunique"))  # fmt: skip
    got = pq.check_in_weeks(synth_warehouse, f).set_index("check_ins_last_week")
    assert got.to_dict("list") == want.to_dict("list") and list(got.index) == list(want.index)


def test_a_weighted_row_is_the_rows_it_stands_for_even_where_a_term_is_not_estimable():
    """Frequency weights in the estimability check and the fit: a term collinear with another is not
    estimable with or without weights, and the other term's estimate is unchanged."""
    from peer_outcomes.analysis.dose import fit_time_varying_cox

    rng = np.random.default_rng(3)
    n = 400
    rows = pd.DataFrame({"start": np.zeros(n), "stop": rng.integers(1, 30, n).astype(float),
                         "event": rng.integers(0, 2, n), "dose": rng.integers(0, 3, n)})  # fmt: skip
    rows["twice"] = 2 * rows["dose"]
    counted = rows.groupby(list(rows.columns)).size().rename("w").reset_index()
    whole = fit_time_varying_cox(rows.assign(id=np.arange(n)), "id", "start", "stop", "event", ["dose", "twice"])
    cells = fit_time_varying_cox(counted, None, "start", "stop", "event", ["dose", "twice"], weights="w", n_people=n)
    assert whole.warnings == cells.warnings and len(whole.warnings) == 1
    a, b = whole.summary.set_index("term"), cells.summary.set_index("term")
    assert np.isnan(a.loc["twice", "hr"]) and np.isnan(b.loc["twice", "hr"])
    assert np.isclose(a.loc["dose", "hr"], b.loc["dose", "hr"], rtol=1e-12)
    assert np.isclose(a.loc["dose", "p"], b.loc["dose", "p"], rtol=1e-10)


def test_a_warehouse_built_before_the_cell_counts_says_to_load_again_in_one_sentence(synth_warehouse: Path, tmp_path: Path):
    """Engagement and Mentoring practice read aggregates the load builds; a warehouse an older version built
    lacks them, and every page says so in the project's one sentence (as for a missing mart column), not a
    catalog error."""
    import shutil

    from peer_outcomes.analysis import published_practice
    from peer_outcomes.pipelines.errors import UserError

    old = tmp_path / "warehouse.duckdb"
    shutil.copy(synth_warehouse, old)
    with duckdb.connect(str(old)) as con:
        con.execute("drop schema aggregates cascade")
    sentence = (f"The warehouse {old} was built by an older version of peer-outcomes: run `peer-outcomes etl "
                f"EXPORT_DIR --db {old}` again.")  # fmt: skip
    for result in (published.engagement, published_practice.practice, published.mentors):
        try:
            result(old, Filters())
        except UserError as exc:
            assert str(exc) == sentence
        else:
            raise AssertionError(f"{result.__name__} read a warehouse without its aggregates")
