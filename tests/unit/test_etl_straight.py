"""Attendance staged straight from DuckDB's CSV reader loads and quarantines exactly as from a lined text copy.

`etl.STRAIGHT` files are staged without line numbers; any row to quarantine, repeated key or file DuckDB cannot
parse sends the file back through the lined read. Each export here is loaded both ways (STRAIGHT as shipped,
and emptied) and every core table and the quarantine must be equal.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from peer_outcomes.pipelines import etl
from peer_outcomes.pipelines.contract import LOAD_ORDER
from peer_outcomes.pipelines.mapping import load_mapping
from peer_outcomes.pipelines.readers import ExportFile
from peer_outcomes.pipelines.synth import generate

TINY = Path(__file__).parents[1] / "fixtures" / "exports" / "tiny"


def contents(db: Path) -> dict[str, list[tuple]]:
    """Every core table's rows (sorted) and the quarantine without its batch id."""
    with duckdb.connect(str(db), read_only=True) as con:
        out = {t: sorted(con.execute(f"select * from {t}").fetchall(), key=repr) for t in LOAD_ORDER}
        out["quarantine"] = con.execute(
            "select entity, file_name, line, column_name, value, reason from quarantine order by entity, line, reason"
        ).fetchall()
    return out


def both_ways(export: Path, tmp_path: Path, monkeypatch) -> tuple[dict, dict]:
    straight = contents(etl.run_etl(export, tmp_path / "straight.duckdb").db)
    monkeypatch.setattr(etl, "STRAIGHT", frozenset())
    lined = contents(etl.run_etl(export, tmp_path / "lined.duckdb").db)
    return straight, lined


def test_attendance_as_csv_is_read_straight_and_parquet_as_before(tmp_path):
    with duckdb.connect() as con:
        con.execute("attach ':memory:' as scratch")
        mp = load_mapping(None)
        source = etl._source(con, ExportFile("attendance", TINY / "attendance.csv", "csv"), mp)
        assert not source.lined and "read_csv(" in source.relation
        assert etl._source(con, ExportFile("sessions", TINY / "sessions.csv", "csv"), mp).lined


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> Path:
    """A small messy export: duplicated attendance, orphan ids and bad statuses among others."""
    out = tmp_path_factory.mktemp("messy")
    generate(out, participants=300, seed=5, messy=True)
    return out


def test_a_messy_export_quarantines_the_same_lines_and_reasons_either_way(messy, tmp_path, monkeypatch):
    straight, lined = both_ways(messy, tmp_path, monkeypatch)
    assert [r for r in straight["quarantine"] if r[0] == "attendance"]  # the file did have rows to quarantine
    assert straight == lined


@pytest.mark.parametrize(
    "fault",
    [
        "\n\nS2,P001,NOT_A_STATUS\n",  # blank rows before a bad row: its true line, found after the fallback
        "S1,P001,attended\n",  # a repeated key: "duplicate of line N"
        "S1,P002,attended,extra\n",  # a row DuckDB's strict reader refuses: unreadable, with its line
        "S9,P001,attended\n",  # a session not in sessions.csv
        " s1 ,p001,ATTENDED\n",  # ids that match only after trimming and case-folding, an upper-case status
    ],
)
def test_each_kind_of_attendance_fault_gives_the_lined_reads_quarantine(fault, tmp_path, monkeypatch):
    export = tmp_path / "export"
    shutil.copytree(TINY, export)
    with (export / "attendance.csv").open("a") as fh:
        fh.write(fault)
    straight, lined = both_ways(export, tmp_path, monkeypatch)
    assert straight == lined
    if "NOT_A_STATUS" in fault or "extra" in fault or "S9" in fault:
        assert [r for r in straight["quarantine"] if r[0] == "attendance"]


def test_a_clean_export_loads_the_same_rows_either_way(tmp_path, monkeypatch):
    straight, lined = both_ways(TINY, tmp_path, monkeypatch)
    assert straight["attendance"] and straight == lined
