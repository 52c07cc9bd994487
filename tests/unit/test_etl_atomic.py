"""The live warehouse is only ever replaced whole: a killed load or an open reader never sees a half file."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from loading import wait_until_building

from peer_outcomes.pipelines.etl import run_etl

ROOT = Path(__file__).parents[2]
TINY = Path(__file__).parents[1] / "fixtures" / "exports" / "tiny"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def big_export(tmp_path_factory) -> Path:
    """A synthetic export big enough that the load takes a few seconds (time to kill it midway)."""
    from peer_outcomes.pipelines.synth import generate

    out = tmp_path_factory.mktemp("big")
    generate(out, participants=20_000, seed=2)
    return out


def test_sigkill_mid_load_leaves_the_live_file_byte_identical(tmp_path, big_export):
    db = tmp_path / "wh.duckdb"
    run_etl(TINY, db)
    before = sha(db)
    script = "import sys; from pathlib import Path; from peer_outcomes.pipelines.etl import run_etl; run_etl(Path(sys.argv[1]), Path(sys.argv[2]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(big_export), str(db)], cwd=ROOT, env=os.environ.copy()
    )
    wait_until_building(proc, db, timeout=60, settle=0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert sha(db) == before
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from participants").fetchall() == [(5,)]
    run_etl(TINY, db)  # the next load clears the dead load's leftovers
    assert not list(tmp_path.glob("*.building-*"))


READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("select count(*) from participants").fetchall()[0][0], flush=True)
sys.stdin.readline()
print(con.execute("select count(*) from participants").fetchall()[0][0], flush=True)
"""


def test_a_reader_holding_the_file_does_not_block_a_load_and_keeps_its_snapshot(tmp_path, big_export):
    db = tmp_path / "wh.duckdb"
    run_etl(TINY, db)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout.readline().strip() == "5"
        report = run_etl(big_export, db)  # the reader still has the file open, read-only
        assert report.file("participants").rows_loaded == 20_000
        out, _ = reader.communicate("next\n", timeout=30)
    finally:
        reader.kill()
    assert out.strip() == "5"  # its snapshot: the file it opened
    with duckdb.connect(str(db), read_only=True) as con:  # a new connection sees the new warehouse
        assert con.execute("select count(*) from participants").fetchall() == [(20_005,)]


def test_a_second_load_while_one_runs_is_refused_with_one_sentence(tmp_path):
    import fcntl

    from peer_outcomes.pipelines.errors import UserError

    db = tmp_path / "wh.duckdb"
    with (tmp_path / "wh.duckdb.lock").open("a") as held:  # what a running load holds
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(UserError) as err:
            run_etl(TINY, db)
    assert str(err.value) == f"Another load into {db} is running; wait for it to finish."
    assert not db.exists()
