"""Readers: every format gives the same text rows, numbered by spreadsheet row (header = line 1)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import openpyxl
import pytest

from peer_outcomes.pipelines.errors import UserError
from peer_outcomes.pipelines.readers import ExportFile, find_export, open_source

MESSY_CSV = (
    b"\xef\xbb\xbfparticipant_id,site,enrolled_on,notes\r\n"
    b'P1,A,2025-01-01,"two\r\nlines"\r\n'
    b'P2,"A, b",2025-01-02,""\r\n'
    b"P3,A,2025-01-03,\r\n"
    b"\r\n\r\n"
)


def rows(path: Path, entity: str = "participants") -> tuple[list[str], list[tuple], list[tuple[int, str]]]:
    con = duckdb.connect()
    fmt = path.suffix.lstrip(".")
    src = open_source(con, ExportFile(entity, path, fmt), "raw")
    return src.headers, con.execute(f"select * from {src.relation} order by _line").fetchall(), src.unreadable


def test_csv_with_bom_crlf_quoted_newline_and_blank_trailing_lines_reads_every_row(tmp_path):
    path = tmp_path / "participants.csv"
    path.write_bytes(MESSY_CSV)
    headers, data, unreadable = rows(path)
    assert headers == ["participant_id", "site", "enrolled_on", "notes"]
    assert data == [
        (2, "P1", "A", "2025-01-01", "two\r\nlines"),
        (3, "P2", "A, b", "2025-01-02", None),
        (4, "P3", "A", "2025-01-03", None),
    ]
    assert unreadable == []


def test_blank_row_inside_a_csv_still_counts_for_line_numbers(tmp_path):
    path = tmp_path / "participants.csv"
    path.write_bytes(b"participant_id,site\nP1,A\n\nP2,B\n")
    _, data, _ = rows(path)
    assert [(r[0], r[1]) for r in data] == [(2, "P1"), (4, "P2")]


def test_ragged_csv_row_is_kept_as_unreadable_with_its_line(tmp_path):
    path = tmp_path / "participants.csv"
    path.write_bytes(b"participant_id,site\nP1,A\nP2,B,extra\nP3,C\nP4,D,,\n")
    _, data, unreadable = rows(path)
    assert [(r[0], r[1]) for r in data] == [(2, "P1"), (4, "P3"), (5, "P4")]  # trailing empty cells are fine
    assert unreadable == [(3, "the row has 3 values but the header has 2 columns")]


def test_xlsx_rows_are_numbered_by_worksheet_row_and_cells_become_text(tmp_path):
    path = tmp_path / "participants.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["participant_id", "site", "enrolled_on", "age_at_enrollment", "employed_at_intake"])
    sheet.append(["P1", "A", dt.datetime(2025, 1, 6), 34.0, True])
    sheet.append([None, None, None, None, None])
    sheet.append([1002, "B", dt.date(2025, 1, 8), 41, False])
    book.save(path)
    _, data, _ = rows(path)
    assert data == [(2, "P1", "A", "2025-01-06", "34", "true"), (4, "1002", "B", "2025-01-08", "41", "false")]


def test_parquet_columns_are_read_as_text_numbered_from_line_2(tmp_path):
    path = tmp_path / "participants.parquet"
    duckdb.sql(
        f"copy (select * from (values ('P1', date '2025-01-06', 34), ('P2', date '2025-01-08', null)) "
        f"t(participant_id, enrolled_on, age_at_enrollment)) to '{path}' (format parquet)"
    )
    headers, data, _ = rows(path)
    assert headers == ["participant_id", "enrolled_on", "age_at_enrollment"]
    assert data == [(2, "P1", "2025-01-06", "34"), (3, "P2", "2025-01-08", None)]


def test_export_without_participants_is_one_sentence(tmp_path):
    (tmp_path / "sessions.csv").write_text("session_id\nS1\n")
    with pytest.raises(UserError) as err:
        find_export(tmp_path)
    assert (
        str(err.value)
        == f"The export folder {tmp_path} has no participants file (participants.csv, .xlsx or .parquet)."
    )


def test_two_files_for_one_entity_are_refused(tmp_path):
    (tmp_path / "participants.csv").write_text("participant_id\n")
    (tmp_path / "Participants.xlsx").write_bytes(b"")
    with pytest.raises(
        UserError,
        match="^The export has both Participants.xlsx and participants.csv; keep one file per entity.$",
    ):
        find_export(tmp_path)


def test_non_utf8_csv_is_one_sentence(tmp_path):
    path = tmp_path / "participants.csv"
    path.write_bytes("participant_id,site\nP1,M\u00fcnchen\n".encode("latin-1"))
    with pytest.raises(
        UserError, match=r'^participants.csv is not UTF-8 text; save it as "CSV UTF-8" and try again\.$'
    ):
        rows(path)


def test_line_numbers_follow_the_file_on_a_parallel_read_of_a_big_csv(tmp_path):
    path = tmp_path / "attendance.csv"
    n = 400_000  # several of DuckDB's parallel chunks
    body = "".join(f"S{i % 97},P{i},{i + 2}\n" for i in range(n))
    path.write_text("session_id,participant_id,status\n" + body)
    con = duckdb.connect()
    src = open_source(con, ExportFile("attendance", path, "csv"), "raw")
    assert src.fast
    mismatched = con.execute(f"select count(*) filter (where _line <> cast(c2 as bigint)), count(*) from {src.relation}")
    assert mismatched.fetchall() == [(0, n)]


BLANK_ROW_CASES = {  # file bytes, records DuckDB reads, whether a blank row sits inside
    "plain": (b"a,b\n1,2\n3,4\n", 2, False),
    "blank trailing lines": (b"a,b\n1,2\n3,4\n\n \n", 2, False),
    "blank row": (b"a,b\n1,2\n\n3,4\n", 2, True),
    "crlf": (b"a,b\r\n1,2\r\n3,4\r\n", 2, False),
    "crlf blank row": (b"a,b\r\n1,2\r\n\r\n3,4\r\n", 2, True),
    "line break in a quoted value": (b'a,b\n1,"x\ny"\n3,4\n', 2, False),
    "line break in a value and a blank row": (b'a,b\n1,"x\ny"\n\n3,4\n', 2, True),
    "cr only": (b"a,b\r1,2\r3,4\r", 2, False),
    "cr only blank row": (b"a,b\r1,2\r\r3,4\r", 2, True),
}


@pytest.mark.parametrize("case", sorted(BLANK_ROW_CASES))
def test_blank_rows_are_found_with_and_without_the_record_count(tmp_path, case):
    data, records, blank = BLANK_ROW_CASES[case]
    path = tmp_path / "participants.csv"
    path.write_bytes(data)
    file = ExportFile("participants", path, "csv")
    assert file.has_blank_rows() is blank  # the byte search
    assert file.has_blank_rows(records) is blank  # the line-break count first


@pytest.mark.parametrize(
    ("fmt", "sentence"),
    [
        ("csv", "participants.csv could not be read (No such file or directory)."),
        ("xlsx", "participants.xlsx could not be opened as an Excel workbook."),
        ("parquet", "participants.parquet could not be read as a Parquet file; it may be damaged, so export it again."),
    ],
)
def test_a_file_that_cannot_be_read_is_one_sentence(tmp_path, fmt, sentence):
    gone = ExportFile("participants", tmp_path / f"participants.{fmt}", fmt)  # removed after it was found
    with pytest.raises(UserError) as err:
        open_source(duckdb.connect(), gone, "raw")
    assert str(err.value) == sentence
