"""Named queries: narrowed columns give the same rows, and lookups memoized per load follow a new load.

Real warehouses built by the real ETL (the session's synthetic warehouse and a test program), real files
swapped in with `os.replace` as the ETL does.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st

from peer_outcomes.analysis import published, queries
from peer_outcomes.analysis.queries import Filters
from peer_outcomes.pipelines.warehouse import query


def test_outcomes_with_named_columns_are_the_same_rows_as_all_columns(synth_warehouse: Path) -> None:
    site = published.filter_options(synth_warehouse)["sites"][0]
    cols = ["retention_days", "is_disengaged", "site", "cohort_month"]
    for f in (Filters(), Filters(sites=(site,))):
        narrow = queries.outcomes(synth_warehouse, f, cols)
        full = queries.outcomes(synth_warehouse, f)
        assert list(narrow.columns) == cols
        pd.testing.assert_frame_equal(narrow, full[cols])


def test_lookups_memoized_per_load_are_read_again_after_a_new_load_is_swapped_in(
    synth_warehouse: Path, program, tmp_path: Path
) -> None:
    other = program("sites_60")
    live = tmp_path / "warehouse.duckdb"
    shutil.copy(synth_warehouse, live)
    first = (queries.data_version(live), queries.settings(live), queries.group_sizes(live))
    assert first[0] == query(synth_warehouse, "select data_version || ':' || as_of as v from settings")["v"][0]
    assert queries.data_version(live) == first[0]  # asked again: the same answer, from the memo

    shutil.copy(other, tmp_path / "new.duckdb")
    os.replace(tmp_path / "new.duckdb", live)  # a load: the ETL swaps a new file in
    second = (queries.data_version(live), queries.settings(live), queries.group_sizes(live))
    assert second[0] != first[0]
    assert second[0] == query(other, "select data_version || ':' || as_of as v from settings")["v"][0]
    assert second[1]["data_version"] == query(other, "select data_version from settings")["data_version"][0]
    assert second[2]["n"].sum() == query(other, "select count(*) as n from marts.participant_outcomes")["n"][0]


def test_a_memoized_lookup_hands_out_a_copy(synth_warehouse: Path) -> None:
    sizes = queries.group_sizes(synth_warehouse)
    sizes["n"] = 0
    assert queries.group_sizes(synth_warehouse)["n"].sum() > 0


def test_a_missing_warehouse_is_never_memoized(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    with pytest.raises(Exception, match="No warehouse at"):
        queries.settings(db)
    assert queries.data_version(db) == "missing"


def test_dashboard_cache_never_serves_results_masked_at_another_threshold(
    synth_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sidebar's choices at k = 11, then at a k larger than the whole program: no site may be offered."""
    from peer_outcomes.dashboard import data

    monkeypatch.setenv("PEER_OUTCOMES_DB", str(synth_warehouse))
    monkeypatch.delenv("PEER_OUTCOMES_MIN_CELL", raising=False)
    st.cache_data.clear()
    assert data.options()["sites"]
    monkeypatch.setenv("PEER_OUTCOMES_MIN_CELL", str(10**6))
    assert data.options()["sites"] == []
    assert data.headline(Filters()).frames["tiles"].empty
    st.cache_data.clear()


def test_dose_bands_from_the_lagged_rows_equal_a_window_query_over_the_mart(synth_warehouse: Path) -> None:
    """The bands the Engagement page publishes, against the same counts written once in plain SQL."""
    site = published.filter_options(synth_warehouse)["sites"][0]
    for f in (Filters(), Filters(sites=(site,))):
        where, params = f.where()
        expected = query(synth_warehouse, f"""
            with lagged as (
                select participant_key, is_relapse,
                       coalesce(lag(n_attended) over (partition by participant_key order by week), 0) as prev
                from marts.dose_weekly
                where participant_key in (select participant_key from marts.participant_outcomes where {where}))
            select case when prev >= 3 then '3+' else cast(prev as varchar) end as sessions_last_week,
                   count(*) as person_weeks, sum(is_relapse) as n_relapses, count(distinct participant_key) as n_people
            from lagged group by 1 order by 1""", params)  # fmt: skip
        rows = queries.dose_rows(synth_warehouse, f)
        assert rows.groupby("participant_key")["week"].apply(lambda w: w.is_monotonic_increasing).all()
        got = queries.dose_bands(rows)
        assert list(got["sessions_last_week"]) == list(expected["sessions_last_week"])
        for c in ("person_weeks", "n_relapses", "n_people"):
            assert got[c].astype(int).tolist() == expected[c].astype(int).tolist()


def test_milestone_counts_count_each_person_once_in_one_and_two_program_warehouses(synth_warehouse: Path, two_programs) -> None:
    """People are counted from the rows of one milestone per program, not with count(distinct): the same
    number as the distinct participants of the filtered mart, in every selection and with two programs."""
    for db in (synth_warehouse, two_programs.final):
        opts = published.filter_options(db)
        for f in (Filters(), Filters(sites=(opts["sites"][0],)), Filters(tracks=(opts["tracks"][-1],)),
                  *(Filters(programs=(p,)) for p in opts["programs"])):
            where, params = f.where(small=queries.small_cell_keys(db))
            got = queries.milestone_counts(db, f)
            assert len(got) and got["n_people"].nunique() == 1
            expected = query(db, f"select count(distinct participant_key) as n from marts.milestones where {where}", params)
            assert int(got["n_people"].iloc[0]) == int(expected["n"].iloc[0])
            per_day = query(db, "select milestone_days, count(*) filter (where is_observable = 1) as n from marts.milestones "
                                f"where {where} group by 1 order by 1", params)
            assert got["n_observable"].tolist() == per_day["n"].tolist()
        assert len(opts["programs"]) == (2 if db == two_programs.final else 0)


def test_overview_tiles_reuse_the_curves_counts_of_the_same_load(synth_warehouse: Path, monkeypatch) -> None:
    """Headline counts people per time and event as the retention and relapse-free curves do: after those, it
    scans the mart for neither again (queries.counts is kept per load), and its tiles are the same."""
    f = Filters(sites=(published.filter_options(synth_warehouse)["sites"][-1],))
    first = published.headline(synth_warehouse, f).frames["tiles"]
    published.retention(synth_warehouse, f)
    published.relapse_free(synth_warehouse, f)
    seen: list[str] = []
    real = queries.query
    monkeypatch.setattr(queries, "query", lambda db, sql, params=None: seen.append(sql) or real(db, sql, params))
    again = published.headline(synth_warehouse, f).frames["tiles"]
    pd.testing.assert_frame_equal(first, again)
    assert not [s for s in seen if "retention_days" in s or "relapse_days" in s]


def test_the_server_reads_the_first_visits_lookups_at_start(synth_warehouse: Path, tmp_path: Path, monkeypatch) -> None:
    """dashboard/serve.py's warm-up reads what every page asks for first (sidebar choices, small cells,
    periods, the notes on groups left out) into the per-load memo under the keys the app uses, so the first
    visit queries none of them; a warehouse it cannot read is left to the app's one sentence."""
    from peer_outcomes.analysis import population
    from peer_outcomes.dashboard import serve

    live = tmp_path / "warehouse.duckdb"
    shutil.copy(synth_warehouse, live)  # a file of its own: no other test has filled the memo for it
    serve.warm(str(live))
    seen: list[str] = []
    real = queries.query
    monkeypatch.setattr(queries, "query", lambda db, sql, params=None: seen.append(sql) or real(db, sql, params))
    options = published.filter_options(str(live), (), ())
    notes = population.left_out_notes(str(live), (), ())
    queries.small_cell_keys(str(live))
    queries.settings(str(live))
    assert seen == []
    assert options["sites"] and options == published.filter_options(synth_warehouse, (), ())
    assert notes == population.left_out_notes(synth_warehouse, (), ())
    serve.warm(str(tmp_path / "missing.duckdb"))  # no exception: the app says what is wrong at the visit
