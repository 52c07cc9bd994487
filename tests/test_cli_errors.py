"""Every mistake found by trying hostile and clumsy input (issue 13) ends as one sentence and exit 1.

One row per case: what is set up, the command, and the exact sentence on stderr. Each case fails on any
traceback, and a warehouse that was there before is byte-identical after.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.csv
import pyarrow.parquet as pq
import pytest

from peer_outcomes.pipelines.etl import run_etl

TINY = Path(__file__).parent / "fixtures" / "exports" / "tiny"
CLI = str(Path(sys.executable).parent / "peer-outcomes")


def older_warehouse(db: Path) -> None:
    """A warehouse as an earlier version built it: its outcomes mart lacks a column this version reads."""
    with duckdb.connect(str(db)) as con:
        con.execute("alter table marts.participant_outcomes drop column is_meant_to_be_matched")


@dataclass(frozen=True)
class Case:
    args: list[str]  # {tmp} is the test's folder, {wh} a loaded tiny warehouse in it
    sentence: str
    setup: Callable[[Path], None] = lambda tmp: None
    env: dict[str, str] | None = None  # {tmp} expanded too


def tiny_copy(tmp: Path, name: str = "export") -> Path:
    export = tmp / name
    shutil.copytree(TINY, export)
    return export


def corrupt_parquet(tmp: Path) -> None:
    """The tiny export with participants as Parquet whose first data page header is overwritten."""
    export = tiny_copy(tmp)
    table = pyarrow.csv.read_csv(export / "participants.csv")
    (export / "participants.csv").unlink()
    path = export / "participants.parquet"
    pq.write_table(table, path, compression="none")
    offset = pq.ParquetFile(path).metadata.row_group(0).column(0).data_page_offset
    data = bytearray(path.read_bytes())
    data[offset : offset + 16] = b"\xff" * 16
    path.write_bytes(bytes(data))


def with_mapping(text: str) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        (tiny_copy(tmp) / "mapping.yaml").write_text(text)

    return setup


def duckdb_file(name: str, sql: str | None) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        with duckdb.connect(str(tmp / name)) as con:
            if sql:
                con.execute(sql)

    return setup


def existing_file(tmp: Path) -> None:
    (tmp / "taken").write_text("not a folder\n")


def dangling_key(tmp: Path) -> None:
    (tmp / "key.link").symlink_to(tmp / "gone.key")


SCORE = "covariates:\n  participants:\n    - {{name: score, type: int, min: {}, max: 20}}\n"
FIRST_LINE = "run `peer-outcomes etl EXPORT_DIR --db {tmp}/empty.duckdb` first."

CASES: dict[str, Case] = {
    "a Parquet file with a corrupt page": Case(
        ["etl", "{tmp}/export", "--db", "{wh}"],
        "participants.parquet could not be read as a Parquet file; it may be damaged, so export it again.",
        corrupt_parquet,
    ),
    "a covariate with min: ten": Case(
        ["etl", "{tmp}/export", "--db", "{wh}"],
        "mapping.yaml: covariates.participants: 'score' has min 'ten', which is not a whole number below "
        "1,000,000,000,000.",
        with_mapping(SCORE.format("ten")),
    ),
    'a covariate with min: "0 or true"': Case(
        ["etl", "{tmp}/export", "--db", "{wh}"],
        "mapping.yaml: covariates.participants: 'score' has min '0 or true', which is not a whole number below "
        "1,000,000,000,000.",
        with_mapping(SCORE.format('"0 or true"')),
    ),
    "a date format %Q%Y": Case(
        ["etl", "{tmp}/export", "--db", "{wh}"],
        'mapping.yaml: date_formats.participants.enrolled_on must be a strftime format such as "%m/%d/%Y".',
        with_mapping('date_formats:\n  participants: {enrolled_on: "%Q%Y"}\n'),
    ),
    "--gap-days 99999999999": Case(
        ["etl", str(TINY), "--db", "{wh}", "--gap-days", "99999999999"],
        "--gap-days must be a whole number of days from 1 to 3,650.",
    ),
    "status of an empty DuckDB file": Case(
        ["status", "--db", "{tmp}/empty.duckdb"],
        "The DuckDB file {tmp}/empty.duckdb is empty: " + FIRST_LINE,
        duckdb_file("empty.duckdb", None),
    ),
    "the dashboard on an empty DuckDB file": Case(
        ["dashboard", "--db", "{tmp}/empty.duckdb", "--port", "8650"],
        "The DuckDB file {tmp}/empty.duckdb is empty: " + FIRST_LINE,
        duckdb_file("empty.duckdb", None),
    ),
    "status of another application's DuckDB file": Case(
        ["status", "--db", "{tmp}/orders.duckdb"],
        "The DuckDB file {tmp}/orders.duckdb is not a peer-outcomes warehouse (it has no load settings).",
        duckdb_file("orders.duckdb", "create table orders (id integer); insert into orders values (1)"),
    ),
    "the dashboard on another application's DuckDB file": Case(
        ["dashboard", "--db", "{tmp}/orders.duckdb", "--port", "8650"],
        "The DuckDB file {tmp}/orders.duckdb is not a peer-outcomes warehouse (it has no load settings).",
        duckdb_file("orders.duckdb", "create table orders (id integer); insert into orders values (1)"),
    ),
    "a load into another application's DuckDB file": Case(
        ["etl", str(TINY), "--db", "{tmp}/orders.duckdb"],
        "The DuckDB file {tmp}/orders.duckdb is not a peer-outcomes warehouse; give a new --db path so its "
        "data is kept.",
        duckdb_file("orders.duckdb", "create table orders (id integer); insert into orders values (1)"),
    ),
    "status of a file under /proc": Case(
        ["status", "--db", "/proc/self/status"],
        "The warehouse /proc/self/status could not be opened: it is not a DuckDB file.",
    ),
    "a load into a folder under /proc": Case(
        ["etl", str(TINY), "--db", "/proc/no-such-process/wh.duckdb"],
        "The folder for the warehouse /proc/no-such-process/wh.duckdb cannot be created (No such file or "
        "directory).",
    ),
    "status of a CSV": Case(
        ["status", "--db", str(TINY / "participants.csv")],
        f"The warehouse {TINY / 'participants.csv'} could not be opened: it is not a DuckDB file.",
    ),
    "the dashboard on a CSV": Case(
        ["dashboard", "--db", str(TINY / "participants.csv"), "--port", "8650"],
        f"The warehouse {TINY / 'participants.csv'} could not be opened: it is not a DuckDB file.",
    ),
    "extract --out at an existing file": Case(
        ["extract", "--db", "{wh}", "--out", "{tmp}/taken"],
        "{tmp}/taken is a file; give a new folder for the extract.",
        existing_file,
    ),
    "evidence --out at an existing file": Case(
        ["evidence", "--db", "{wh}", "--out", "{tmp}/taken"],
        "{tmp}/taken is a file; give a new or empty folder for the evidence pack.",
        existing_file,
    ),
    "evidence from a warehouse built by an older version": Case(
        ["evidence", "--db", "{wh}", "--out", "{tmp}/pack"],
        "The warehouse {tmp}/wh.duckdb was built by an older version of peer-outcomes: run `peer-outcomes etl "
        "EXPORT_DIR --db {tmp}/wh.duckdb` again.",
        lambda tmp: older_warehouse(tmp / "wh.duckdb"),
    ),
    "a key path that is a folder": Case(
        ["etl", str(TINY), "--db", "{wh}"],
        "The pseudonym key file {tmp} is a folder; set PEER_OUTCOMES_KEY_FILE to a file path, such as "
        "{tmp}/pseudonym.key.",
        env={"PEER_OUTCOMES_KEY_FILE": "{tmp}"},
    ),
    "a key path under a file": Case(
        ["etl", str(TINY), "--db", "{wh}"],
        "The pseudonym key file {tmp}/taken/pseudonym.key could not be created: its folder {tmp}/taken is a "
        "file or lies under one.",
        existing_file,
        env={"PEER_OUTCOMES_KEY_FILE": "{tmp}/taken/pseudonym.key"},
    ),
    "a key file that is a dangling symlink": Case(
        ["etl", str(TINY), "--db", "{wh}"],
        "The pseudonym key file {tmp}/key.link is a symbolic link to a missing file; restore the key it "
        "pointed to, or remove the link to create a new key.",
        dangling_key,
        env={"PEER_OUTCOMES_KEY_FILE": "{tmp}/key.link"},
    ),
}


@pytest.fixture(scope="module")
def tiny_warehouse(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("wh") / "wh.duckdb"
    run_etl(TINY, db)
    return db


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.duckdb")}


@pytest.mark.parametrize("name", list(CASES))
def test_each_hostile_input_ends_in_one_sentence_and_exit_1(name, tmp_path, tiny_warehouse):
    case = CASES[name]
    shutil.copy(tiny_warehouse, tmp_path / "wh.duckdb")
    case.setup(tmp_path)
    before = digests(tmp_path)
    fill = {"tmp": str(tmp_path), "wh": str(tmp_path / "wh.duckdb")}
    env = {**os.environ, "COLUMNS": "500"}
    env.update({k: v.format(**fill) for k, v in (case.env or {}).items()})
    done = subprocess.run(
        [CLI, *(a.format(**fill) for a in case.args)], capture_output=True, text=True, env=env, timeout=120
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1
    assert done.stderr == f"Error: {case.sentence.format(**fill)}\n"
    assert digests(tmp_path) == before  # every warehouse (and other DuckDB file) is byte-identical
    assert not list(tmp_path.glob("*.building-*"))
