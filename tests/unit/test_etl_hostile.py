"""The loader under hostile and clumsy input (issue 13): every record of a file is loaded or quarantined, or
the load stops with one sentence and the live warehouse stays byte-identical."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest

from peer_outcomes.pipelines.errors import UserError
from peer_outcomes.pipelines.etl import run_etl

TINY = Path(__file__).parents[1] / "fixtures" / "exports" / "tiny"
HEADER = "participant_id,site,enrolled_on,age_at_enrollment"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def tiny_warehouse(tmp_path_factory) -> Path:
    """The tiny export loaded once; tests copy it before loading into it."""
    db = tmp_path_factory.mktemp("wh") / "wh.duckdb"
    run_etl(TINY, db)
    return db


@pytest.fixture
def live(tmp_path, tiny_warehouse) -> Path:
    """A copy of the loaded tiny warehouse that a test may load into."""
    db = tmp_path / "live.duckdb"
    shutil.copy(tiny_warehouse, db)
    return db


def participants(n: int, bad: dict[int, str] | None = None) -> str:
    """A participants.csv of `n` people; `bad` replaces whole data lines (by spreadsheet line number)."""
    lines = [HEADER] + [f"P{i:03d},north,2025-01-{i % 28 + 1:02d},{20 + i % 50}" for i in range(1, n + 1)]
    for line, text in (bad or {}).items():
        lines[line - 1] = text
    return "\n".join(lines) + "\n"


def export_with(tmp_path: Path, csv_text: str | bytes) -> Path:
    export = tmp_path / "export"
    export.mkdir()
    data = csv_text.encode() if isinstance(csv_text, str) else csv_text
    (export / "participants.csv").write_bytes(data)
    return export


def refused(export: Path, db: Path) -> str:
    """Load `export` into `db`, expecting one sentence; check the live file did not change at all."""
    before = sha(db)
    with pytest.raises(UserError) as err:
        run_etl(export, db)
    assert sha(db) == before
    assert not list(db.parent.glob("*.building-*"))
    return str(err.value)


def test_an_unclosed_quote_stops_the_load_naming_the_file_and_line(tmp_path, live):
    export = export_with(tmp_path, participants(40, {6: 'P005,"alpha,2025-01-06,30'}))
    assert refused(export, live) == (
        "participants.csv has a quote opened on line 6 that is never closed, so the rest of the file cannot be "
        "read; fix that line and export the file again."
    )


def test_an_unclosed_quote_on_the_last_line_also_stops_the_load(tmp_path, live):
    export = export_with(tmp_path, participants(40, {41: 'P040,north,"2025-01-06,30'}))
    assert refused(export, live).startswith("participants.csv has a quote opened on line 41 that is never closed")


def test_a_file_cut_off_in_the_middle_of_a_row_stops_the_load(tmp_path, live):
    export = export_with(tmp_path, participants(40).rstrip("\n")[:-8])  # 'P040,north,2025-01-13,60' cut
    assert refused(export, live) == (
        "participants.csv ends in the middle of line 41, so the file looks cut off; export it again."
    )


def test_every_record_after_a_recoverable_fault_is_still_read(tmp_path):
    faults = {
        3: "P002,north,2025-01-03,21,extra",  # one value too many
        6: 'P005,nor"th,2025-01-06,25',  # a stray quote inside a value
        9: 'P008,"north"x,2025-01-09,28',  # text after a closing quote
        12: "P011,north",  # too few values
    }
    export = export_with(tmp_path, participants(40, faults))
    db = tmp_path / "wh.duckdb"
    report = run_etl(export, db)
    f = report.file("participants")
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (40, 38, 2)
    assert fetch(db, "select line, reason from quarantine order by line") == [
        (3, "the row has 5 values but the header has 4 columns"),
        (12, "the row has 2 values but the header has 4 columns"),
    ]
    assert sorted(r[0] for r in fetch(db, "select site from participants")) == sorted(
        ["north"] * 36 + ['nor"th', 'northx']  # as spreadsheets read them
    )


def test_a_symlinked_warehouse_stays_a_symlink_to_the_new_data(tmp_path, live):
    link = tmp_path / "current.duckdb"
    link.symlink_to(live.name)
    run_etl(export_with(tmp_path, participants(40)), link)
    assert link.is_symlink() and link.readlink() == Path(live.name)
    tiny_mentors = len((TINY / "mentors.csv").read_text().splitlines()) - 1
    assert fetch(live, "select count(*) from participants") == [(40,)]  # P001-P005 replaced, 35 more
    assert fetch(live, "select count(*) from mentors") == [(tiny_mentors,)]  # carried over from the old file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current.duckdb", "export", "live.duckdb", "live.duckdb.lock"]


def test_two_paths_to_one_warehouse_share_one_lock(tmp_path, live):
    from peer_outcomes.pipelines.etl import _load_lock

    link = tmp_path / "other-name.duckdb"
    link.symlink_to(live)
    before = sha(live)
    with _load_lock(link), pytest.raises(UserError) as err:
        run_etl(TINY, live)
    assert str(err.value) == f"Another load into {live} is running; wait for it to finish."
    assert sha(live) == before


def test_a_warehouse_path_that_is_a_loop_of_symlinks_is_one_sentence(tmp_path):
    loop = tmp_path / "loop.duckdb"
    loop.symlink_to(loop)
    with pytest.raises(UserError, match=rf"^The warehouse path {loop} is a loop of symbolic links\.$"):
        run_etl(TINY, loop)
