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
