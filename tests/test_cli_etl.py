"""`peer-outcomes etl` and `status` as a user runs them: a load report, or one sentence and exit code 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from peer_outcomes.pipelines.etl import run_etl

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "exports" / "tiny"
BAD = FIXTURES / "bad_exports"
CLI = str(Path(sys.executable).parent / "peer-outcomes")


def run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "500"}
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=120)


def test_etl_prints_the_load_report_and_status_shows_the_quarantine(tmp_path):
    db = tmp_path / "wh.duckdb"
    done = run("etl", str(BAD / "orphan_attendance"), "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert "│ attendance.csv   │ 2    │ 1      │ 1           │" in done.stdout
    assert "1 rows quarantined (see `peer-outcomes status`)." in done.stdout
    status = run("status", "--db", str(db))
    assert status.returncode == 0, status.stderr
    assert "attendance refers to a session that is not in sessions.csv" in status.stdout
    assert "│ attendance    │ 1    │" in status.stdout


def test_dropped_columns_are_listed_in_the_report(tmp_path):
    done = run("etl", str(FIXTURES / "exports" / "mapped"), "--db", str(tmp_path / "wh.duckdb"))
    assert done.returncode == 0, done.stderr
    assert "Case Manager, Phone" in done.stdout


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["etl", "{tmp}/nowhere"], "The export folder {tmp}/nowhere does not exist."),
        (
            ["etl", str(BAD / "no_participants")],
            f"The export folder {BAD / 'no_participants'} has no participants file (participants.csv, .xlsx or .parquet).",
        ),
        (
            ["etl", str(BAD / "missing_required_column")],
            "participants.csv has no enrolled_on column, which is required; add it or rename the right column in mapping.yaml.",
        ),
        (
            ["etl", str(BAD / "bad_mapping")],
            "mapping.yaml: `columns` names an unknown entity 'clients' (known: participants, mentors, matches, sessions, "
            "attendance, milestones, substance_use, exits, goals, check_ins, referrals, mentor_activity, incidents).",
        ),
        (
            ["etl", str(TINY), "--mapping", "{tmp}/none.yaml"],
            "The mapping file {tmp}/none.yaml does not exist.",
        ),
        (
            ["etl", str(TINY), "--as-of", "30/06/2025"],
            "--as-of must be a date like 2025-06-30, not '30/06/2025'.",
        ),
        (
            ["status"],
            "No warehouse at {tmp}/wh.duckdb: run `peer-outcomes etl EXPORT_DIR --db {tmp}/wh.duckdb` first.",
        ),
    ],
)
def test_user_mistake_is_one_sentence_and_exit_1(tmp_path, args, sentence):
    args = [a.format(tmp=tmp_path) for a in args] + ["--db", str(tmp_path / "wh.duckdb")]
    done = run(*args)
    assert done.returncode == 1
    assert done.stderr == f"Error: {sentence.format(tmp=tmp_path)}\n"
    assert not (tmp_path / "wh.duckdb").exists()


def test_locked_warehouse_is_one_sentence(tmp_path):
    db = tmp_path / "wh.duckdb"
    run_etl(TINY, db)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ok', flush=True); sys.stdin.readline()",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        done = run("etl", str(TINY), "--db", str(db))
    finally:
        holder.communicate("\n", timeout=30)
    assert done.returncode == 1
    assert done.stderr == f"Error: The warehouse {db} is locked by another process; close it and try again.\n"


def test_status_groups_duplicates_into_one_reason(tmp_path):
    db = tmp_path / "wh.duckdb"
    run_etl(BAD / "duplicate_participant", db)
    status = run("status", "--db", str(db))
    assert status.returncode == 0, status.stderr
    assert "duplicate of an earlier line" in status.stdout and "duplicate of line" not in status.stdout


def test_a_thousand_dropped_columns_take_one_line_of_the_report(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    extra = ",".join(f"Extra {i}" for i in range(1000))
    (export / "participants.csv").write_text(
        f"participant_id,site,enrolled_on,{extra}\nP1,north,2025-01-06{',' * 1000}\n"
    )
    done = run("etl", str(export), "--db", str(tmp_path / "wh.duckdb"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) < 12
    assert any("Extra 0, Extra 1, Extra 2, Extra 3, Extra 4 and 995 more" in line for line in lines)
