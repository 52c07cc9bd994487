"""The synthetic export written as Parquet block by block (issue 17.2): the same program as the CSV generator
for one block, unique ids and whole references across blocks, and the real ETL loading it with line numbers
counted across the blocks' row groups. Files are read back with DuckDB, not with the generator's code.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from peer_outcomes.pipelines.contract import ENTITIES
from peer_outcomes.pipelines.errors import UserError
from peer_outcomes.pipelines.synth import FILES, generate
from peer_outcomes.pipelines.synth_parquet import generate_parquet

BLOCK = 400
N = 1000  # blocks of 400, 400 and 200


@pytest.fixture(scope="module")
def blocks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("parquet")
    return out, generate_parquet(out, N, seed=3, block=BLOCK)


def test_one_block_holds_exactly_the_csv_generators_rows_in_the_same_order(tmp_path: Path):
    generate(tmp_path / "csv", participants=300, seed=5)
    truth = generate_parquet(tmp_path / "pq", participants=300, seed=5)
    con = duckdb.connect()
    for name in FILES:
        parquet = f"read_parquet('{tmp_path / 'pq' / name}.parquet')"
        types = con.execute(f"describe select * from {parquet}").fetchall()
        assert [c for c, *_ in types] == list(ENTITIES[name].column_names), name
        typed = ", ".join(f'cast("{c}" as {t})' for c, t, *_ in types)  # the CSV's text read as Parquet's types
        csv_rows = con.execute(
            f"select {typed} from read_csv('{tmp_path / 'csv' / name}.csv', all_varchar = true)"
        ).fetchall()
        assert con.execute(f"select * from {parquet}").fetchall() == csv_rows, name
        assert truth["rows"][f"{name}.parquet"] == len(csv_rows) > 0, name


def test_each_block_is_one_row_group_with_its_own_ids_and_the_truth_sums_them(blocks: tuple[Path, dict]):
    out, truth = blocks
    participants = pq.ParquetFile(out / "participants.parquet")
    assert [participants.metadata.row_group(i).num_rows for i in range(participants.num_row_groups)] == [400, 400, 200]
    ids = participants.read(columns=["participant_id"]).column(0).to_pylist()
    assert "-" not in ids[0] and ids[400].startswith("B1-P") and ids[999].startswith("B2-P")
    assert truth["participants"] == N and sum(truth["sites"].values()) == N and truth["blocks"] == 3
    assert truth["sites"]["harbor"] == 3 + 3 + 2  # each block has a small site of its own
    for name in FILES:
        assert truth["rows"][f"{name}.parquet"] == pq.ParquetFile(out / f"{name}.parquet").metadata.num_rows
    assert not list(out.glob(".*partial"))


def test_keys_are_unique_and_every_reference_resolves_across_blocks(blocks: tuple[Path, dict]):
    out, _ = blocks
    con = duckdb.connect()
    for name in FILES:
        con.execute(f"create view {name} as select * from read_parquet('{out / name}.parquet')")
    for name, entity in ENTITIES.items():
        key = ", ".join(entity.key)
        (dupes,) = con.execute(f"select count(*) - count(distinct ({key})) from {name}").fetchone()
        assert dupes == 0, name
        for col in entity.columns:
            if col.ref:
                target, target_col = col.ref.split(".")
                (missing,) = con.execute(
                    f"select count(*) from {name} where {col.name} is not null "
                    f"and {col.name} not in (select {target_col} from {target})"
                ).fetchone()
                assert missing == 0, f"{name}.{col.name}"


def test_same_seed_gives_byte_identical_parquet(blocks: tuple[Path, dict], tmp_path: Path):
    out, _ = blocks
    generate_parquet(tmp_path, N, seed=3, block=BLOCK)

    def digest(folder: Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}

    assert digest(tmp_path) == digest(out)


def test_the_etl_loads_every_block_and_numbers_lines_across_row_groups(blocks: tuple[Path, dict], tmp_path: Path):
    from peer_outcomes.pipelines.etl import run_etl

    out, truth = blocks
    export = tmp_path / "export"
    export.mkdir()
    for name in FILES:
        (export / f"{name}.parquet").symlink_to(out / f"{name}.parquet")
    (export / "attendance.parquet").unlink()
    source = pq.ParquetFile(out / "attendance.parquet")
    last = source.num_row_groups - 1
    bad = source.metadata.num_rows - 5  # a row in the last block: 0-based row number across the whole file
    with pq.ParquetWriter(export / "attendance.parquet", source.schema_arrow) as writer:
        for i in range(source.num_row_groups):
            group = source.read_row_group(i)
            if i == last:
                status = group.column("status").to_pylist()
                status[bad - (source.metadata.num_rows - group.num_rows)] = "teleported"
                group = group.set_column(group.column_names.index("status"), "status", pa.array(status))
            writer.write_table(group)
    db = tmp_path / "warehouse.duckdb"
    run_etl(export, db)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select count(*) from participants").fetchone()[0] == N
    assert con.execute("select count(*) from attendance").fetchone()[0] == truth["rows"]["attendance.parquet"] - 1
    quarantined = con.execute("select file_name, line, column_name, value from quarantine").fetchall()
    assert quarantined == [("attendance.parquet", bad + 2, "status", "teleported")]


def test_parquet_with_messy_or_an_unknown_format_ends_in_one_sentence(tmp_path: Path):
    from typer.testing import CliRunner

    from peer_outcomes.dashboard.cli import app

    for args, sentence in [
        (("--format", "xml"), "--format must be csv or parquet."),
        (("--format", "parquet", "--participants", "10000001"),
         "--participants must be between 1 and 10,000,000 for Parquet."),
    ]:  # fmt: skip
        result = CliRunner().invoke(app, ["synth", "--out", str(tmp_path), *args])
        assert isinstance(result.exception, UserError) and str(result.exception) == sentence
    run = subprocess.run(  # and as a user sees it: one sentence, exit 1
        [sys.executable, "-c", "from peer_outcomes.dashboard.cli import main; main()", "synth", "--out",
         str(tmp_path), "--format", "parquet", "--messy"], capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (run.returncode, run.stderr.strip()) == (1, "Error: --messy writes CSV only; leave out --format parquet.")
    assert not list(tmp_path.glob("*.parquet"))
