"""Marts built only for what changed (issue 17): a load of program B rebuilds B's mart rows only, and gives
the same rows as building every mart whole; an unchanged program is not rebuilt; a changed setting or mart
definition is. Real warehouses from the real ETL (conftest `two_programs`, built once per session)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest
from programs import B_AS_OF

from peer_outcomes.pipelines import marts
from peer_outcomes.pipelines.marts import (
    MartCheckError,
    aggregate_models,
    build_marts,
    fingerprints,
    mart_names,
    models,
)


def copy(src: Path, dst: Path) -> duckdb.DuckDBPyConnection:
    shutil.copyfile(src, dst)
    return duckdb.connect(str(dst))


def differing_rows(con: duckdb.DuckDBPyConnection, other: Path) -> dict[str, int]:
    """{mart or aggregates.<name>: rows in one and not the other (EXCEPT ALL both ways)} between `con`'s marts
    and aggregates and `other`'s."""
    con.execute(f"attach '{other}' as other (read_only)")
    out = {}
    for name in [*(f"marts.{m}" for m in mart_names()), *aggregate_models()]:
        (n,) = con.execute(
            f"select (select count(*) from (from {name} except all from other.{name}))"
            f" + (select count(*) from (from other.{name} except all from {name}))"
        ).fetchone()
        if n:
            out[name.removeprefix("marts.")] = n
    con.execute("detach other")
    return out


def test_marts_built_for_b_only_equal_every_mart_built_whole(two_programs, tmp_path):
    con = copy(two_programs.final, tmp_path / "whole.duckdb")
    assert build_marts(con) == {p: sorted(mart_names()) for p in ("a", "b")}  # no previous warehouse: all, in place
    assert differing_rows(con, two_programs.final) == {}
    (n_b,) = con.execute("select count(*) from marts.dose_weekly join participants using (participant_key)"
                         " where program = 'b'").fetchone()  # fmt: skip
    assert n_b > 1000  # B's corrected rows are among those compared, not only A's


def test_an_unchanged_warehouse_rebuilds_nothing_and_keeps_every_row(two_programs, tmp_path):
    con = copy(two_programs.final, tmp_path / "again.duckdb")
    assert build_marts(con, previous=two_programs.final) == {}
    assert differing_rows(con, two_programs.final) == {}
    builds = "select * from mart_builds order by all"
    with duckdb.connect(str(two_programs.final), read_only=True) as final:
        assert con.execute(builds).fetchall() == final.execute(builds).fetchall()
    assert len(con.execute(builds).fetchall()) == 2 * (len(mart_names()) + len(aggregate_models()))


@pytest.mark.parametrize("in_place", [True, False], ids=["rows deleted in the copy", "rows copied"])
def test_a_changed_setting_rebuilds_that_program_only(two_programs, tmp_path, in_place):
    con = copy(two_programs.final, tmp_path / "gap.duckdb")
    con.execute("update programs set gap_days = 14 where program = 'b'")
    assert build_marts(con, previous=two_programs.final, in_place=in_place) == {"b": sorted(mart_names())}
    con.execute("checkpoint")  # the copy below is of the file alone, without its write-ahead log
    whole = copy(tmp_path / "gap.duckdb", tmp_path / "gap_whole.duckdb")
    build_marts(whole)
    whole.close()
    assert differing_rows(con, tmp_path / "gap_whole.duckdb") == {}
    changed = differing_rows(con, two_programs.final)
    assert "retention" in changed and "goals" not in changed  # the gap moved B's disengagement, not its goals


def test_a_changed_mart_definition_rebuilds_it_and_what_reads_it_only(two_programs, tmp_path, monkeypatch):
    con = copy(two_programs.final, tmp_path / "sql.duckdb")
    sqls = models()
    changed = {**sqls, "marts.relapse_events": sqls["marts.relapse_events"] + "\n-- reworded\n"}
    before, after = fingerprints(con, sqls), fingerprints(con, changed)
    assert {key for key in before if before[key] != after[key]} == {
        (p, f"marts.{m}") for p in ("a", "b") for m in READS_RELAPSE_EVENTS
    }
    monkeypatch.setattr(marts, "models", lambda: changed)
    rebuilt = build_marts(con, previous=two_programs.final)
    assert {p: sorted(m) for p, m in rebuilt.items()} == {p: sorted(READS_RELAPSE_EVENTS) for p in ("a", "b")}
    assert differing_rows(con, two_programs.final) == {}  # a comment: the same rows, rebuilt


READS_RELAPSE_EVENTS = ("relapse_events", "relapse", "competing", "dose_weekly", "check_in_weekly", "participant_outcomes")


@pytest.mark.parametrize("in_place", [True, False], ids=["rows deleted in the copy", "rows copied"])
@pytest.mark.parametrize("program", ["a", "b"])
def test_a_new_load_batch_rebuilds_its_program_only(two_programs, tmp_path, program, in_place):
    con = copy(two_programs.final, tmp_path / "batch.duckdb")
    con.execute(
        "insert into load_batches select 'later', entity, file_name, sha256, rows_read, rows_loaded,"
        " rows_quarantined, dropped_columns, started_at, finished_at, 'loaded', program from load_batches"
        " where program = ? limit 1",
        [program],
    )
    assert build_marts(con, previous=two_programs.final, in_place=in_place) == {program: sorted(mart_names())}
    assert differing_rows(con, two_programs.final) == {}  # same rows: the data did not change
    counts = "select count(*) from marts.dose_weekly union all select count(*) from aggregates.week_counts"
    with duckdb.connect(str(two_programs.final), read_only=True) as final:
        assert con.execute(counts).fetchall() == final.execute(counts).fetchall()  # none twice, in place or not


def test_a_mart_no_longer_defined_leaves_with_the_copy(two_programs, tmp_path):
    con = copy(two_programs.final, tmp_path / "gone.duckdb")
    con.execute("create table marts.retired as select 1 as program; create table aggregates.retired as select 1 as x")
    con.execute("update programs set gap_days = 14 where program = 'b'")
    build_marts(con, previous=two_programs.final, in_place=True)
    held = "select schema_name || '.' || table_name from duckdb_tables() where table_name = 'retired'"
    assert con.execute(held).fetchall() == []


def test_the_rebuilt_rows_are_checked_and_a_failure_stops_the_build(two_programs, tmp_path, monkeypatch):
    spec = marts.load_spec()
    retention = next(m for m in spec["marts"] if m["name"] == "marts.retention")
    retention["tests"] = [*retention.get("tests", []), {"expression": "program <> 'b'"}]
    monkeypatch.setattr(marts, "load_spec", lambda: spec)
    con = copy(two_programs.final, tmp_path / "check.duckdb")
    con.execute("update programs set gap_days = 14 where program = 'b'")
    with pytest.raises(MartCheckError, match=r"marts\.retention breaks `program <> 'b'` \(300 row\(s\)\)"):
        build_marts(con, previous=two_programs.final)
    assert "scoped" not in [d for (d,) in con.execute("select database_name from duckdb_databases()").fetchall()]
    retention["tests"][-1] = {"expression": "program <> 'a'"}  # A's rows are copied, not checked again
    assert build_marts(con, previous=two_programs.final) == {"b": sorted(mart_names())}


def test_loading_the_same_export_again_builds_no_model(two_programs, tmp_path, monkeypatch):
    from peer_outcomes.pipelines.etl import run_etl

    db = tmp_path / "warehouse.duckdb"
    shutil.copyfile(two_programs.final, db)
    built: list[list[str]] = []
    real = marts.build_models
    monkeypatch.setattr(marts, "build_models", lambda con, sqls, cpu=None: built.append(list(sqls)) or real(con, sqls, cpu))
    report = run_etl(two_programs.exports["b2"], db, program="b", as_of=dt.date.fromisoformat(B_AS_OF))
    assert report.status == "unchanged" and built == []
    with duckdb.connect() as con:
        con.execute(f"attach '{db}' as now (read_only)")
        con.execute(f"attach '{two_programs.final}' as final (read_only)")
        for mart in mart_names():
            (n,) = con.execute(
                f"select (select count(*) from (from now.marts.{mart} except all from final.marts.{mart}))"
                f" + (select count(*) from (from final.marts.{mart} except all from now.marts.{mart}))"
            ).fetchone()
            assert n == 0, mart


def test_programs_with_different_milestones_build_whole_and_pass_their_checks(two_programs, tmp_path):
    """Each program follows its own milestone days (main.programs): a whole build checks each row against its
    own program's list, not the latest load's (`settings`)."""
    con = copy(two_programs.final, tmp_path / "milestones.duckdb")
    con.execute("update programs set milestone_days = [30, 90] where program = 'a'")
    con.execute("update settings set milestone_days = [30, 60, 180]")  # as if another program loaded last
    build_marts(con)  # no previous warehouse: every mart whole, every row checked
    got = con.execute("select program, list(distinct milestone_days order by milestone_days) from marts.milestones"
                      " group by program order by program").fetchall()  # fmt: skip
    want = con.execute("select program, list_sort(milestone_days) from programs order by program").fetchall()
    assert got == want and got[0] == ("a", [30, 90])
