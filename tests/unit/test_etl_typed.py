"""Typed reads: a Parquet column whose stored type matches the contract is staged as stored, not through text.

The text path (CSV) is the reference: the same values written as CSV and as typed Parquet must load the same
rows and quarantine the same lines with the same reasons and kept values.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from peer_outcomes.pipelines.contract import LOAD_ORDER
from peer_outcomes.pipelines.etl import run_etl
from peer_outcomes.pipelines.readers import ExportFile, open_source

TINY = Path(__file__).parents[1] / "fixtures" / "exports" / "tiny"

# rows that parse as their type but break a rule, appended to the tiny export's typed tables
FAULTS = {
    "sessions": """insert into t values
        ('S90', 'north', date '2025-01-12', 'group', 'M01', 0, 'intro'),
        ('S92', 'north', date '1899-12-31', 'group', 'M01', 60, 'intro'),
        ('S93', 'north', date '2999-01-01', 'group', 'M01', 60, 'intro'),
        ('S94', 'north', null, 'group', 'M01', -5, 'intro'),
        ('S95', 'north', date '2025-01-13', 'group', 'M01', null, 'intro')""",
    "matches": "insert into t values ('P001', 'M01', date '2025-02-10', date '2025-02-01', 'completed')",
    "milestones": """insert into t values ('P001', 40000, date '2025-02-01'), ('P003', null, date '2025-02-01'),
                     ('P003', 10000000000000, date '2025-02-02'), ('P003', -999999999999, date '2025-02-03')""",
    "mentor_activity": """insert into t values ('M01', date '2025-02-15', 1.5, 0, true),
                          ('M02', date '2025-02-01', 1.5, 0, null)""",
    "goals": "insert into t values ('G90', 'P003', 'M02', 'recovery', date '2025-02-10', null, 'open', date '2025-02-01')",
    "check_ins": "insert into t values ('P003', 'M02', date '2025-02-10', 'phone', null)",
}


def typed_exports(tmp_path: Path) -> tuple[Path, Path]:
    """The tiny export plus FAULTS, typed as DuckDB's sniffer reads it, written as Parquet and as CSV."""
    pq_dir, csv_dir = tmp_path / "parquet", tmp_path / "csv"
    pq_dir.mkdir()
    csv_dir.mkdir()
    con = duckdb.connect()
    for table in LOAD_ORDER:
        con.execute(f"create or replace table t as select * from read_csv('{TINY / table}.csv')")
        if table == "sessions":  # sniffed as text (one value has a time); a 32-bit integer column too
            con.execute("create or replace table t as select * replace (cast(session_date as date) as session_date,"
                        " cast(duration_minutes as integer) as duration_minutes) from t")
        if table in FAULTS:
            con.execute(FAULTS[table])
        con.execute(f"copy t to '{pq_dir / table}.parquet' (format parquet)")
        con.execute(f"copy t to '{csv_dir / table}.csv' (header true)")
    return pq_dir, csv_dir


def fetch(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_parquet_offers_its_date_integer_and_boolean_columns_as_stored(tmp_path):
    pq_dir, _ = typed_exports(tmp_path)
    con = duckdb.connect()
    source = open_source(con, ExportFile("sessions", pq_dir / "sessions.parquet", "parquet"), "raw")
    assert source.native == {"c2": "DATE", "c5": "INTEGER"}
    assert con.execute(f"select n2, n5 from {source.typed} where _line = 2").fetchall()[0][1] == 60
    source = open_source(con, ExportFile("check_ins", pq_dir / "check_ins.parquet", "parquet"), "raw")
    assert source.native == {"c2": "DATE", "c4": "BOOLEAN"}


@pytest.mark.parametrize("as_of", [None, "2025-03-01"])
def test_typed_parquet_loads_and_quarantines_exactly_as_the_same_values_as_text(tmp_path, as_of):
    import datetime as dt

    pq_dir, csv_dir = typed_exports(tmp_path)
    cutoff = dt.date.fromisoformat(as_of) if as_of else None
    run_etl(pq_dir, tmp_path / "pq.duckdb", as_of=cutoff)
    run_etl(csv_dir, tmp_path / "csv.duckdb", as_of=cutoff)
    for table in LOAD_ORDER:
        sql = f"select * exclude (program) from {table} order by all"
        assert fetch(tmp_path / "pq.duckdb", sql) == fetch(tmp_path / "csv.duckdb", sql), table
    sql = "select entity, line, column_name, value, reason from quarantine order by all"
    quarantined = fetch(tmp_path / "pq.duckdb", sql)
    assert quarantined == fetch(tmp_path / "csv.duckdb", sql)
    reasons = {(e, r) for e, _, _, _, r in quarantined}
    assert {
        ("sessions", "duration_minutes must be between 1 and 1440"),
        ("milestones", "milestone_days is not a whole number"),
        ("sessions", "session_date is before 1900"),
        ("sessions", "session_date is in the future"),
        ("sessions", "session_date is missing"),
        ("matches", "ended_on is before matched_on"),
        ("milestones", "milestone_days must be between 1 and 36500"),
        ("milestones", "milestone_days is missing"),
        ("mentor_activity", "month is not the first day of a month (write 2025-03-01, or declare %Y-%m in mapping.yaml)"),
        ("mentor_activity", "active is missing"),
        ("goals", "status_on is before set_on"),
        ("check_ins", "reached is missing"),
    } <= reasons
    kept = {(e, c, v) for e, _, c, v, _ in quarantined if v is not None}
    assert ("milestones", "milestone_days", "10000000000000") in kept
    assert ("sessions", "session_date", "1899-12-31") in kept
