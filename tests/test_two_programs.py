"""Many programs in one warehouse (issue 17): loading or reloading program B never touches A's rows, and each
program's pseudonyms come from its own key.

Every row of A, in every core table and every mart, is compared between the warehouse after A's load and
after B's loads: EXCEPT ALL both ways, and a hash of the rows in order. The warehouses are built once per
session by the real ETL (conftest `two_programs`).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from peer_outcomes.pipelines.errors import UserError
from peer_outcomes.pipelines.etl import run_etl
from peer_outcomes.pipelines.pseudonym import program_key, program_key_env, program_key_file, pseudonymize

CLI = str(Path(sys.executable).parent / "peer-outcomes")


def tables(db: Path) -> list[str]:
    """Every core table, mart and aggregate of a warehouse (each has a `program` column; `settings` is the
    latest load's: see test below)."""
    with duckdb.connect(str(db), read_only=True) as con:
        names = con.execute(
            "select schema_name || '.' || table_name from duckdb_tables() where database_name = current_database()"
            " and table_name <> 'settings' order by all"
        ).fetchall()
    return [n for (n,) in names]


def rows_of(con: duckdb.DuckDBPyConnection, alias: str, table: str, program: str) -> str:
    """A select of `program`'s rows of `table` in the attached warehouse `alias`."""
    columns = {
        c
        for (c,) in con.execute(
            "select column_name from duckdb_columns() where database_name = ? and schema_name || '.' || table_name = ?",
            [alias, table],
        ).fetchall()
    }
    t = f"{alias}.{table}"
    if "program" in columns:
        return f"select * from {t} where program = '{program}'"
    if table == "main.quarantine":
        return f"select * from {t} where batch_id in (select batch_id from {alias}.load_batches where program = '{program}')"
    assert "participant_key" in columns, f"{table} has no way to tell its program's rows"
    return (
        f"select * from {t} where participant_key in"
        f" (select participant_key from {alias}.main.participants where program = '{program}')"
    )


def differences(before: Path, after: Path, program: str) -> dict[str, tuple[int, int, bool]]:
    """{table: (rows only before, rows only after, hashes equal)} for every table where `program`'s rows differ."""
    out = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{before}' as b (read_only)")
        con.execute(f"attach '{after}' as a (read_only)")
        for table in tables(before):
            old, new = rows_of(con, "b", table, program), rows_of(con, "a", table, program)
            gone = con.execute(f"select count(*) from ({old} except all {new})").fetchone()[0]
            added = con.execute(f"select count(*) from ({new} except all {old})").fetchone()[0]
            digest = "select md5(coalesce(string_agg(r::varchar, chr(10) order by r::varchar), '')) from ({}) r"
            same = con.execute(digest.format(old)).fetchone()[0] == con.execute(digest.format(new)).fetchone()[0]
            if gone or added or not same:
                out[table] = (gone, added, same)
    return out


def test_every_table_and_mart_is_compared(two_programs):
    names = tables(two_programs.final)
    assert {"main.participants", "main.attendance", "main.quarantine", "main.programs"} <= set(names)
    assert {"marts.participant_outcomes", "marts.dose_weekly", "marts.mentor_months"} <= set(names)
    with duckdb.connect(str(two_programs.final), read_only=True) as con:
        counts = dict(con.execute("select program, count(*) from participants group by all").fetchall())
    assert counts == {"a": 12, "b": 300}


def test_loading_and_reloading_b_leaves_every_row_of_a_byte_identical(two_programs):
    assert differences(two_programs.a_only, two_programs.after_b, "a") == {}
    assert differences(two_programs.a_only, two_programs.final, "a") == {}


def test_reloading_b_with_corrections_changed_b(two_programs):
    changed = differences(two_programs.after_b, two_programs.final, "b")
    assert {"main.attendance", "main.exits", "main.load_batches", "marts.retention"} <= changed.keys()


def test_loading_b_under_a_code_is_the_way_to_change_a(two_programs, tmp_path):
    db = tmp_path / "warehouse.duckdb"
    shutil.copyfile(two_programs.final, db)
    run_etl(two_programs.exports["b2"], db, program="a")
    changed = differences(two_programs.final, db, "a")
    assert {"main.participants", "main.attendance", "marts.participant_outcomes"} <= changed.keys()
    assert differences(two_programs.final, db, "b") == {}


def test_each_program_follows_its_people_to_its_own_cutoff(two_programs):
    with duckdb.connect(str(two_programs.final), read_only=True) as con:
        cutoffs = dict(con.execute("select program, as_of::varchar from programs").fetchall())
        ends = dict(
            con.execute("select program, max(follow_up_end_on)::varchar from marts.retention group by all").fetchall()
        )
    assert cutoffs["b"] == "2026-09-30" and cutoffs["a"] < cutoffs["b"]
    assert ends["a"] <= cutoffs["a"] and ends["b"] == cutoffs["b"]


def test_the_same_raw_id_in_two_programs_gets_unrelated_pseudonyms(two_programs):
    raw = two_programs.shared_id
    with duckdb.connect(str(two_programs.final), read_only=True) as con:
        pids = dict(con.execute("select program, participant_pid from participants").fetchall())
        stored = dict(
            con.execute(
                "select program, participant_pid from participants where participant_pid in (?, ?)",
                [pseudonymize(raw, "participant", program_key("a")), pseudonymize(raw, "participant", program_key("b"))],
            ).fetchall()
        )
    assert stored == {
        "a": pseudonymize(raw, "participant", program_key("a")),
        "b": pseudonymize(raw, "participant", program_key("b")),
    }
    assert stored["a"] != stored["b"] and len(pids) == 2
    assert program_key("a") != program_key("b")  # independent random keys, one file each
    assert program_key_file("a") != program_key_file("b")


def test_a_new_key_for_b_leaves_a_as_it_was(two_programs, tmp_path, monkeypatch):
    db = tmp_path / "warehouse.duckdb"
    shutil.copyfile(two_programs.a_only, db)
    monkeypatch.setenv(program_key_env("b"), secrets.token_hex(32))
    run_etl(two_programs.exports["b"], db, program="b", as_of=None)
    assert differences(two_programs.a_only, db, "a") == {}
    raw = two_programs.shared_id
    with duckdb.connect(str(db), read_only=True) as con:
        pid_b = con.execute(
            "select participant_pid from participants where program = 'b' and participant_pid = ?",
            [pseudonymize(raw, "participant", program_key("b"))],
        ).fetchall()
    assert pid_b and pid_b[0][0] != pseudonymize(raw, "participant", program_key_file_key("b"))


def program_key_file_key(program: str) -> bytes:
    """The key in the program's key file (what it was before the environment gave B a new one)."""
    return bytes.fromhex(program_key_file(program).read_text().strip())


def test_a_second_program_without_a_code_is_refused_in_one_sentence(two_programs, tmp_path):
    db = tmp_path / "warehouse.duckdb"
    shutil.copyfile(two_programs.final, db)
    before = db.read_bytes()
    with pytest.raises(UserError, match=r"^The warehouse .* holds the programs a, b: say which program this export is with --program"):
        run_etl(two_programs.exports["b"], db)
    assert db.read_bytes() == before


@pytest.mark.parametrize("code", ["a b", "-x", "x" * 17, "b;drop"])
def test_a_bad_program_code_is_one_sentence_and_exit_1(tmp_path, code):
    done = subprocess.run(
        [CLI, "etl", str(Path(__file__).parent / "fixtures" / "exports" / "tiny"), "--db", str(tmp_path / "w.duckdb"),
         "--program", code],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "500"},
    )
    assert done.returncode == 1
    assert "--program must be a short code of letters, digits, - and _ (up to 16 characters)" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "w.duckdb").exists()


def test_a_warehouse_built_before_programs_loads_on_as_the_default_program(two_programs, tmp_path):
    """A warehouse of the schema before issue 17 (no `program` column, no `programs` table) keeps its people,
    keys and pseudonyms: its rows become program main's, the same export again changes nothing, and a second
    program loads beside it."""
    tiny = Path(__file__).parent / "fixtures" / "exports" / "tiny"
    db = tmp_path / "warehouse.duckdb"
    run_etl(tiny, db)
    with duckdb.connect(str(db)) as con:  # back to the old schema
        old = con.execute(
            "select table_name from duckdb_columns() where column_name = 'program' and schema_name = 'main'"
        ).fetchall()
        for (table,) in old:
            con.execute(f"alter table {table} drop column program")
        con.execute("drop table programs")
        people = con.execute("select participant_key, participant_pid from participants order by 1").fetchall()
    assert len(old) >= 15 and people
    assert run_etl(tiny, db).status == "unchanged"
    run_etl(two_programs.exports["b"], db, program="b")
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select program from programs order by 1").fetchall() == [("b",), ("main",)]
        kept = con.execute(
            "select participant_key, participant_pid from participants where program = 'main' order by 1"
        ).fetchall()
        assert con.execute("select count(*) from participants where program = 'b'").fetchone()[0] == 300
    assert kept == people


def test_status_names_each_program_and_etl_names_the_program_it_loaded(two_programs, tmp_path):
    db = tmp_path / "warehouse.duckdb"
    shutil.copyfile(two_programs.final, db)
    env = {**os.environ, "COLUMNS": "500"}
    done = subprocess.run([CLI, "status", "--db", str(db)], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "program a: as of 2026-06-30, 12 participants" in done.stdout
    assert "program b: as of 2026-09-30, 300 participants" in done.stdout
    loads = [line.split("│")[2].strip() for line in done.stdout.splitlines() if line.count("│") > 8]
    assert sorted(loads) == ["a", "b", "b"], done.stdout  # each load names its program
    args = [CLI, "etl", str(two_programs.exports["b2"]), "--db", str(db), "--program", "b"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert f"Export was already loaded; nothing changed: {db} (program b, as of 2026-09-30," in done.stdout
