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
    "a load into a warehouse named old.duckdb": Case(
        ["etl", str(TINY), "--db", "{tmp}/old.duckdb"],
        "A warehouse cannot be named old.duckdb, because “old” is a name the load gives its own databases and "
        "schemas; name it, for example, warehouse.duckdb.",
    ),
    "a load into a warehouse named Marts.db": Case(
        ["etl", str(TINY), "--db", "{tmp}/Marts.db"],
        "A warehouse cannot be named Marts.db, because “marts” is a name the load gives its own databases and "
        "schemas; name it, for example, warehouse.duckdb.",
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


def browser_spy(tmp: Path) -> dict[str, str]:
    """BROWSER_PATH for kaleido: a real Chromium that first leaves a mark, so a test can tell it was started."""
    spy = tmp / "chromium-spy"
    spy.write_text(f'#!/bin/sh\ntouch "{tmp}/browser-started"\nexec /usr/bin/chromium "$@"\n')
    spy.chmod(0o755)
    return {"BROWSER_PATH": str(spy)}


EVIDENCE_MISTAKES: dict[str, tuple[list[str], str]] = {
    "an unknown program": (["--programs", "nowhere"], "Unknown program code(s) nowhere; the warehouse has main."),
    "an unknown site": (["--sites", "zz"], "Unknown site code(s) zz; the warehouse has north, south."),
    "--to before --from": (["--from", "2025-02-01", "--to", "2025-01-01"], "--from must not be later than --to."),
    "a pack folder under /proc": (["--out", "/proc/no-such/pack"],
                                  "The evidence pack cannot be written under /proc (No such file or directory); "
                                  "give another --out."),
    "a pack folder under a file": (["--out", "{wh}/pack"],
                                   "The evidence pack cannot be written under {wh} (Not a directory); give another --out."),
    "a folder of someone else's files": (["--out", "{tmp}/mine"],
                                         "The folder {tmp}/mine is not empty and holds no evidence pack; give a new or "
                                         "empty folder."),
    "no warehouse": (["--db", "{tmp}/none.duckdb"],
                     "No warehouse at {tmp}/none.duckdb: run `peer-outcomes etl EXPORT_DIR --db {tmp}/none.duckdb` first."),
}  # fmt: skip


def run_evidence(tmp: Path, wh: Path, args: list[str]) -> subprocess.CompletedProcess:
    fill = {"tmp": str(tmp), "wh": str(wh)}
    env = {**os.environ, "COLUMNS": "500", **browser_spy(tmp)}
    base = ["evidence", "--db", str(wh), "--out", str(tmp / "pack")]  # a later --db or --out wins
    return subprocess.run([CLI, *base, *(a.format(**fill) for a in args)], capture_output=True, text=True, env=env,
                          timeout=120)  # fmt: skip


@pytest.mark.parametrize("name", list(EVIDENCE_MISTAKES))
def test_an_evidence_mistake_ends_in_one_sentence_before_the_browser_starts(name, tmp_path, tiny_warehouse):
    args, sentence = EVIDENCE_MISTAKES[name]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.docx").write_text("not a pack\n")
    done = run_evidence(tmp_path, tiny_warehouse, args)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1
    assert done.stderr == f"Error: {sentence.format(tmp=tmp_path, wh=tiny_warehouse)}\n"
    assert not (tmp_path / "browser-started").exists()  # checked before Chromium, not after it booted
    assert not (tmp_path / "pack").exists() and (tmp_path / "mine" / "thesis.docx").exists()


def test_good_arguments_start_the_browser_so_the_spy_sees_it(tmp_path, tiny_warehouse):
    """The control: the tiny warehouse's arguments are fine, so Chromium starts (and the pack is then refused,
    as nothing in 5 people is publishable)."""
    done = run_evidence(tmp_path, tiny_warehouse, [])
    assert done.stderr == "Error: No site and track has 11 or more participants yet, so there is nothing to publish.\n"
    assert (tmp_path / "browser-started").exists()
