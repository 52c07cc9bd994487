"""The warehouse door: `reading` keeps one read-only connection for a batch of reads in one thread."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from peer_outcomes.pipelines import warehouse
from peer_outcomes.pipelines.warehouse import WarehouseError


def make(path: Path, version: str) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("create table settings as select ? as data_version, date '2026-01-01' as as_of", [version])
    return path


def test_reads_inside_reading_share_one_snapshot_and_the_next_batch_sees_a_swap(tmp_path):
    db = make(tmp_path / "wh.duckdb", "v1")
    with warehouse.reading(db):
        assert warehouse.query(db, "select data_version from settings").iloc[0, 0] == "v1"
        os.replace(make(tmp_path / "new.duckdb", "v2"), db)  # a load swaps in a new file meanwhile
        # without `reading`, each read opens the path again and would see v2 here
        assert warehouse.data_version(db) == "v1:2026-01-01"  # the held connection: the batch's snapshot
        with warehouse.reading(db):  # nested: the same connection
            assert warehouse.query(db, "select data_version from settings").iloc[0, 0] == "v1"
    assert warehouse.data_version(db) == "v2:2026-01-01"


def test_reading_a_path_that_is_no_warehouse_is_one_sentence(tmp_path):
    missing = tmp_path / "missing.duckdb"
    with pytest.raises(WarehouseError, match=r"^No warehouse at .*: run `peer-outcomes etl"), warehouse.reading(missing):
        pass


SCHEMA = (Path(warehouse.__file__).parent / "sql" / "warehouse.sql").read_text()


def schema_file(path: Path, *extra: str) -> Path:
    """A warehouse file with this version's core tables, one row of settings, and `extra` statements run after."""
    with duckdb.connect(str(path)) as con:
        con.execute(SCHEMA)
        con.execute("insert into settings values (date '2026-06-30', 30, [30], 1.0, 'k', '1', 'v', now())")
        for sql in extra:
            con.execute(sql)
    return path


def test_a_warehouse_of_this_shape_is_copied_byte_for_byte(tmp_path):
    live = schema_file(
        tmp_path / "live.duckdb",
        "alter table participants add column risk_score double",  # a covariate, appended after the columns
        "create schema marts; create table marts.retention as select 1 as program",
        "create table mart_builds (program varchar, mart varchar, fingerprint varchar)",
    )
    assert warehouse.copy_live(live, tmp_path / "new.duckdb", SCHEMA) is True
    assert (tmp_path / "new.duckdb").read_bytes() == live.read_bytes()


@pytest.mark.parametrize(
    "change",
    [
        "alter table exits drop column reason",  # an older version's table
        "alter table exits alter column reason type integer",
        "alter table exits alter column reason drop not null",
        "create table notes (x integer)",  # something this version would not carry over
        "create schema scratchpad; create table scratchpad.t (x integer)",
    ],
)
def test_a_warehouse_of_another_shape_is_not_copied(tmp_path, change):
    live = schema_file(tmp_path / "live.duckdb", change)
    assert warehouse.copy_live(live, tmp_path / "new.duckdb", SCHEMA) is False
    assert not (tmp_path / "new.duckdb").exists()


def test_no_warehouse_or_one_with_a_write_ahead_log_is_not_copied(tmp_path):
    (tmp_path / "text.duckdb").write_text("participant_id,site\n")
    for path in (tmp_path / "missing.duckdb", tmp_path / "text.duckdb", tmp_path):
        assert warehouse.copy_live(path, tmp_path / "new.duckdb", SCHEMA) is False
    live = schema_file(tmp_path / "live.duckdb")
    (tmp_path / "live.duckdb.wal").write_bytes(b"")  # rows not yet in the file: a copy of it alone would lose them
    assert warehouse.copy_live(live, tmp_path / "new.duckdb", SCHEMA) is False
    assert not (tmp_path / "new.duckdb").exists()
