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
    assert refused(export, live).startswith(
        "participants.csv has a quote opened on line 41 that is never closed"
    )


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
        ["north"] * 36 + ['nor"th', "northx"]  # as spreadsheets read them
    )


def test_a_symlinked_warehouse_stays_a_symlink_to_the_new_data(tmp_path, live):
    link = tmp_path / "current.duckdb"
    link.symlink_to(live.name)
    run_etl(export_with(tmp_path, participants(40)), link)
    assert link.is_symlink() and link.readlink() == Path(live.name)
    tiny_mentors = len((TINY / "mentors.csv").read_text().splitlines()) - 1
    assert fetch(live, "select count(*) from participants") == [(40,)]  # P001-P005 replaced, 35 more
    assert fetch(live, "select count(*) from mentors") == [(tiny_mentors,)]  # carried over from the old file
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "current.duckdb",
        "export",
        "live.duckdb",
        "live.duckdb.lock",
    ]


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


def quarantine(db: Path) -> list[tuple]:
    return fetch(db, "select line, column_name, value, reason from quarantine order by line")


FORMULA = "begins with =, +, -, @, tab or carriage return, which a spreadsheet would run as a formula"


def test_code_values_a_spreadsheet_would_run_as_formulas_or_with_control_characters_are_quarantined(tmp_path):
    faults = {
        2: 'P001,"=HYPERLINK(""http://x"",""y"")",2025-01-02,21',
        3: "P002,+cmd|' /C calc'!A0,2025-01-03,22",
        4: "P003,@SUM(1+1),2025-01-04,23",
        5: "P004,-2+3,2025-01-05,24",
        6: "P005,\tnorth,2025-01-06,25",
        7: 'P006,"\rnorth",2025-01-07,26',
        8: "P007,nor\x00th,2025-01-08,27",
        9: "P008,nor\x1bth,2025-01-09,28",
        10: "P009,north-east,2025-01-10,29",  # a dash inside a code is fine
    }
    db = tmp_path / "wh.duckdb"
    report = run_etl(export_with(tmp_path, participants(12, faults)), db)
    f = report.file("participants")
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (12, 4, 8)
    control = "site holds a control character"
    assert quarantine(db) == [
        (2, "site", None, f"site {FORMULA}"),
        (3, "site", None, f"site {FORMULA}"),
        (4, "site", None, f"site {FORMULA}"),
        (5, "site", None, f"site {FORMULA}"),
        (6, "site", None, f"site {FORMULA}"),
        (7, "site", None, f"site {FORMULA}"),
        (8, "site", None, control),
        (9, "site", None, control),
    ]
    assert sorted(r[0] for r in fetch(db, "select distinct site from participants")) == [
        "north",
        "north-east",
    ]


def test_a_bounded_covariate_is_checked_against_its_bounds_as_parameters(tmp_path):
    text = participants(4).replace(HEADER, HEADER + ",score")
    lines = text.splitlines()
    lines[1:] = [f"{line},{v}" for line, v in zip(lines[1:], ["0", "20", "21", "7.0"], strict=True)]
    export = export_with(tmp_path, "\n".join(lines) + "\n")
    (export / "mapping.yaml").write_text(
        "covariates:\n  participants:\n    - {name: score, type: int, min: 0, max: 20}\n"
    )
    db = tmp_path / "wh.duckdb"
    run_etl(export, db)
    assert quarantine(db) == [(4, "score", "21", "score must be between 0 and 20")]
    assert sorted(r[0] for r in fetch(db, "select score from participants")) == [0, 7, 20]


def test_integral_floats_are_whole_numbers_in_every_format(tmp_path):
    import openpyxl

    db = tmp_path / "wh.duckdb"
    rows = [("P001", "north", "2025-01-06", 30.0), ("P002", "north", "2025-01-07", 41.5)]
    csv_export = export_with(tmp_path, HEADER + "\n" + "".join(f"{a},{b},{c},{d}\n" for a, b, c, d in rows))
    xlsx_export, pq_export = tmp_path / "xlsx", tmp_path / "parquet"
    xlsx_export.mkdir(), pq_export.mkdir()
    book = openpyxl.Workbook()
    book.active.append(HEADER.split(","))
    for r in rows:
        book.active.append(list(r))
    book.save(xlsx_export / "participants.xlsx")
    duckdb.sql(
        "copy (select * from (values ('P001', 'north', date '2025-01-06', 30.0::double), "
        "('P002', 'north', date '2025-01-07', 41.5::double)) t(participant_id, site, enrolled_on, "
        f"age_at_enrollment)) to '{pq_export / 'participants.parquet'}' (format parquet)"
    )
    for export in (csv_export, xlsx_export, pq_export):
        report = run_etl(export, db)
        assert (report.file("participants").rows_loaded, report.rows_quarantined) == (1, 1), export.name
        assert fetch(db, "select age_at_enrollment from participants") == [(30,)]
        assert fetch(db, "select line, reason from quarantine") == [
            (3, "age_at_enrollment is not a whole number")
        ]
        db.unlink()


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_two_columns_with_one_name_are_refused_in_every_format(tmp_path, fmt, live):
    import openpyxl

    export = tmp_path / "export"
    export.mkdir()
    path = export / f"participants.{fmt}"
    if fmt == "csv":
        path.write_text("participant_id,site,enrolled_on,site\nP1,north,2025-01-06,south\n")
    elif fmt == "xlsx":
        book = openpyxl.Workbook()
        book.active.append(["participant_id", "site", "enrolled_on", "Site "])
        book.active.append(["P1", "north", "2025-01-06", "south"])
        book.save(path)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_arrays(
            [pa.array(["P1"]), pa.array(["north"]), pa.array(["2025-01-06"]), pa.array(["south"])],
            names=["participant_id", "site", "enrolled_on", "site"],
        )
        pq.write_table(table, path)
    name = "Site" if fmt == "xlsx" else "site"
    assert refused(export, live) == f"participants.{fmt} has two columns named {name}; rename or remove one."


def test_parquet_timestamps_become_the_programs_date_in_its_zone_not_the_machines(tmp_path):
    import subprocess
    import sys

    export = tmp_path / "export"
    export.mkdir()
    duckdb.sql(
        "copy (select 'P1' as participant_id, 'north' as site, "
        "timestamptz '2024-03-01 02:00:00+00' as enrolled_on) "
        f"to '{export / 'participants.parquet'}' (format parquet)"
    )
    script = (
        "import sys; from pathlib import Path; from peer_outcomes.pipelines.etl import run_etl; "
        "run_etl(Path(sys.argv[1]), Path(sys.argv[2]))"
    )

    def load(db: Path) -> list[tuple]:
        env = {**__import__("os").environ, "TZ": "America/Los_Angeles"}
        subprocess.run([sys.executable, "-c", script, str(export), str(db)], check=True, env=env, timeout=120)
        return fetch(db, "select enrolled_on::varchar from participants")

    assert load(tmp_path / "utc.duckdb") == [("2024-03-01",)]  # default UTC, whatever the machine's zone
    (export / "mapping.yaml").write_text("timezone: America/Los_Angeles\n")
    assert load(tmp_path / "la.duckdb") == [("2024-02-29",)]  # 18:00 the evening before, in Los Angeles


def test_an_xlsx_formula_without_a_saved_value_is_quarantined_with_a_reason(tmp_path):
    import openpyxl

    export = tmp_path / "export"
    export.mkdir()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.split(",") + ["Notes"])
    sheet.append(["P1", "north", "2025-01-06", "=30+4", "=A2"])  # written by a script: no saved values
    sheet.append(["P2", "north", "2025-01-07", 41, "=A3"])  # a formula in a dropped column does not matter
    book.save(export / "participants.xlsx")
    db = tmp_path / "wh.duckdb"
    report = run_etl(export, db)
    assert (report.file("participants").rows_loaded, report.rows_quarantined) == (1, 1)
    assert quarantine(db) == [
        (
            2,
            "age_at_enrollment",
            None,
            "age_at_enrollment is a formula without a saved value; open the workbook in Excel, save it and "
            "export again",
        )
    ]


def test_a_workbook_whose_first_sheet_is_notes_says_only_the_first_sheet_is_read(tmp_path, live):
    import openpyxl

    export = tmp_path / "export"
    export.mkdir()
    book = openpyxl.Workbook()
    book.active.title = "Read me"
    book.active.append(["Exported from CaseTrack"])
    data = book.create_sheet("Participants")
    data.append(HEADER.split(","))
    book.save(export / "participants.xlsx")
    assert refused(export, live) == (
        "participants.xlsx has no participant_id column in its first sheet, 'Read me' (only the first sheet is "
        "read), which is required; add it or rename the right column in mapping.yaml."
    )


def test_a_thousand_dropped_columns_are_summarised_in_one_line_of_the_report(tmp_path):
    extra = [f"Extra {i}" for i in range(1000)]
    text = HEADER + "," + ",".join(extra) + "\n" + "P1,north,2025-01-06,30" + "," * 1000 + "\n"
    report = run_etl(export_with(tmp_path, text), tmp_path / "wh.duckdb")
    assert report.file("participants").dropped_columns == tuple(extra)
    assert report.rows()[0][4] == "Extra 0, Extra 1, Extra 2, Extra 3, Extra 4 and 995 more"


def test_a_session_id_that_begins_with_a_dash_is_an_id_not_a_code_and_loads(tmp_path):
    export = tmp_path / "export"
    shutil.copytree(TINY, export)
    for name in ("sessions.csv", "attendance.csv"):
        path = export / name
        path.write_text(
            "\n".join(
                ("-" + line if line.startswith("S") else line) for line in path.read_text().splitlines()
            )
            + "\n"
        )
    report = run_etl(export, tmp_path / "wh.duckdb")
    assert report.rows_quarantined == 0
    assert ("-S1",) in fetch(tmp_path / "wh.duckdb", "select session_id from sessions")


def test_a_refused_load_leaves_no_lock_file_behind(tmp_path):
    orders = tmp_path / "orders.duckdb"
    with duckdb.connect(str(orders)) as con:
        con.execute("create table orders (id integer)")
    before = sha(orders)
    with pytest.raises(UserError, match="is not a peer-outcomes warehouse"):
        run_etl(TINY, orders)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.duckdb"]
    assert sha(orders) == before


def test_a_failed_load_keeps_a_lock_file_it_did_not_create(tmp_path, live):
    run_etl(export_with(tmp_path, participants(3)), live)  # a load that worked leaves its lock file
    with pytest.raises(UserError):
        run_etl(tmp_path / "no-such-export", live)  # refused before the lock is taken
    (tmp_path / "export" / "participants.csv").write_text("not,a,participants,file\n")
    with pytest.raises(UserError):
        run_etl(tmp_path / "export", live)
    assert (tmp_path / "live.duckdb.lock").exists()
