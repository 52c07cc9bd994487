"""The load keeps to a configurable DuckDB memory limit and spills to disk beyond it (issue 17.2); a limit it
cannot work within, or one that is not a size, ends in one sentence and leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from peer_outcomes.pipelines.errors import UserError
from peer_outcomes.pipelines.etl import run_etl


def test_a_load_under_a_tight_memory_limit_builds_the_same_marts(
    synth_export: Path, synth_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEER_OUTCOMES_MEMORY_LIMIT", "48MB")  # a fraction of what the load holds otherwise
    db = tmp_path / "warehouse.duckdb"
    run_etl(synth_export, db)
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute(f"attach '{synth_warehouse}' as reference (read_only)")
        for table in ("participant_outcomes", "attendance_weekly", "dose_weekly"):
            (n,) = con.execute(f"select count(*) from marts.{table}").fetchone()
            (diff,) = con.execute(
                f"select count(*) from ((select * from marts.{table} except all select * from reference.marts.{table})"
                f" union all (select * from reference.marts.{table} except all select * from marts.{table}))"
            ).fetchone()
            assert n > 0 and diff == 0, table


@pytest.mark.parametrize(
    ("limit", "sentence"),
    [
        ("4MB", "The load needed more memory than its limit of 4MB, even spilling to disk: set "
                "PEER_OUTCOMES_MEMORY_LIMIT higher (for example 16GB) and load again."),
        ("lots", "PEER_OUTCOMES_MEMORY_LIMIT is 'lots', which is not a memory size: write it like 8GB or 500MB."),
    ],
)
def test_a_memory_limit_the_load_cannot_use_ends_in_one_sentence_and_leaves_nothing(
    synth_export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: str, sentence: str
) -> None:
    monkeypatch.setenv("PEER_OUTCOMES_MEMORY_LIMIT", limit)
    db = tmp_path / "warehouse.duckdb"
    with pytest.raises(UserError) as err:
        run_etl(synth_export, db)
    assert str(err.value) == sentence
    assert not db.exists() and not list(tmp_path.glob("warehouse.duckdb.building-*"))
