"""A load read straight from Parquet, stopped by a signal or by a damaged page, leaves nothing behind.

The Parquet reader no longer copies a file into memory as text (readers.read_parquet): staging reads it where
it lies, so a page damaged past the footer is only found mid-load, and must still end in the file's one
sentence. SIGTERM or SIGINT mid-load (etl._stoppable) must leave the live warehouse as it was and remove the
building file, its spill folder and the lock, so that the next load just runs.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from loading import wait_until_building

from peer_outcomes.pipelines.errors import UserError
from peer_outcomes.pipelines.etl import run_etl

TINY = Path(__file__).parents[1] / "fixtures" / "exports" / "tiny"
CLI = str(Path(sys.executable).parent / "peer-outcomes")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".building-" in p.name or p.name.endswith(".lock"))


def participants(ids: list, enrolled: list, ages: list) -> pa.Table:
    """A participants table with the contract's required columns, as text (as an export may hold them)."""
    n = len(ids)
    return pa.table(
        {
            "participant_id": ids,
            "site": ["north"] * n,
            "enrolled_on": enrolled,
            "program_track": ["peer_mentoring", "usual_care"] * (n // 2) + ["usual_care"] * (n % 2),
            "age_at_enrollment": ages,
        }
    )


@pytest.fixture(scope="module")
def parquet_export(tmp_path_factory) -> Path:
    """A synthetic Parquet export big enough that its load takes a few seconds (time to stop it midway)."""
    from peer_outcomes.pipelines.synth_parquet import generate_parquet

    out = tmp_path_factory.mktemp("pq")
    generate_parquet(out, participants=20_000, seed=2)
    return out


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_load_leaves_the_warehouse_as_it_was_and_nothing_behind(tmp_path, parquet_export, signum):
    db = tmp_path / "wh.duckdb"
    run_etl(TINY, db)
    before = sha(db)
    # a small memory limit makes DuckDB spill, so a spill folder is likely to exist when the signal comes
    env = {**os.environ, "PEER_OUTCOMES_MEMORY_LIMIT": "64MB", "COLUMNS": "300"}
    proc = subprocess.Popen(
        [CLI, "etl", str(parquet_export), "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    wait_until_building(proc, db, timeout=120, settle=0.5)  # well into reading and staging
    proc.send_signal(signum)
    stopped = time.monotonic()
    _, stderr = proc.communicate(timeout=120)
    waited = time.monotonic() - stopped
    name = signal.Signals(signum).name
    assert proc.returncode == 1
    assert stderr.strip() == f"Error: The load was stopped ({name}); the warehouse {db} is as it was."
    assert waited < 30, f"the load took {waited:.1f} s to stop"  # a query was interrupted, not awaited
    assert sha(db) == before
    assert leftovers(tmp_path) == []  # no building file, WAL, spill folder or lock
    report = run_etl(parquet_export, db)  # the next load runs, with nothing to clear first
    assert report.file("participants").rows_loaded == 20_000
    assert leftovers(tmp_path) == ["wh.duckdb.lock"]


def test_a_page_damaged_past_the_footer_ends_in_one_sentence_mid_load(tmp_path):
    """The footer is sound (the reader's up-front check passes); a data page in the middle is not."""
    export = tmp_path / "export"
    export.mkdir()
    n = 60_000
    table = participants([f"P{i:06d}" for i in range(n)], ["2024-01-15"] * n, [str(20 + i % 50) for i in range(n)])
    path = export / "participants.parquet"
    pq.write_table(table, path, row_group_size=10_000, compression="snappy")
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4000] = b"\x55" * 4000
    path.write_bytes(bytes(data))
    pq.read_metadata(path)  # the footer still reads
    db = tmp_path / "wh.duckdb"
    run_etl(TINY, db)
    before = sha(db)
    with pytest.raises(UserError) as err:
        run_etl(export, db)
    assert str(err.value) == (
        "participants.parquet could not be read as a Parquet file; it may be damaged, so export it again."
    )
    assert sha(db) == before
    assert leftovers(tmp_path) == ["wh.duckdb.lock"]  # the lock of the load before (a failed load keeps it)


def test_parquet_rows_are_quarantined_at_their_line_across_row_groups(tmp_path):
    """Read in place and in parallel, a row's line is still its row number + 2, in whichever row group."""
    n = 25_000
    ids = [f"P{i:06d}" for i in range(n)]
    enrolled = ["2024-01-15"] * n
    ages = [str(20 + i % 50) for i in range(n)]
    enrolled[3] = "15/01/2024"  # line 5
    ages[12_345] = "old"  # line 12,347, in the second row group
    ids[24_998] = ids[100]  # line 25,000: a duplicate of line 102
    enrolled[20_001] = None  # line 20,003
    export = tmp_path / "export"
    export.mkdir()
    pq.write_table(
        participants(ids, enrolled, ages),
        export / "participants.parquet",
        row_group_size=5_000,
    )
    db = tmp_path / "wh.duckdb"
    report = run_etl(export, db)
    with duckdb.connect(str(db), read_only=True) as con:
        got = con.execute("select line, reason, value from quarantine order by line").fetchall()
    assert got == [
        (5, "enrolled_on is not a date (expected YYYY-MM-DD)", "15/01/2024"),
        (12_347, "age_at_enrollment is not a whole number", "old"),
        (20_003, "enrolled_on is missing", None),
        (25_000, "duplicate of line 102", None),
    ]
    part = report.file("participants")
    assert (part.rows_read, part.rows_loaded, part.rows_quarantined) == (n, n - 4, 4)
    assert part.sha256 == sha(export / "participants.parquet")
