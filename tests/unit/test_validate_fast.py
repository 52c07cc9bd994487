"""Staging's fast paths give the verdicts of the strict text rules they skip (validate.py).

A whole number is first cast by DuckDB and kept when the cast gives back the very text; only other texts
meet the regex. DuckDB's cast alone is lenient (it reads 1e3, 0x10, 1_000 and rounds 12.5), so these tests
hold the fast path to the regex, value by value, and show the lenient values still quarantined with their
reason and line in a real load. A yes/no written exactly 'true' or 'false' skips lower() and the lists.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peer_outcomes.pipelines.etl import run_etl
from peer_outcomes.pipelines.validate import _int_ok, _int_parse, _int_value

TINY = Path(__file__).parents[1] / "fixtures" / "exports" / "tiny"

LENIENT = ["1e3", "0x10", "1_000", "12.5", "٣", "1234567890123", "+-7", "7-", "1.0.0", "0b11", "inf", "NaN", "1,000"]
TAKEN = {"60": 60, "-3": -3, "+7": 7, "007": 7, "30.0": 30, "30.": 30, "-0": 0, "999999999999": 999999999999}


@pytest.fixture(scope="module")
def con():
    with duckdb.connect() as c:
        yield c


def strict(con, text: str | None) -> int | None:
    """The rule as written before the fast path: the regex, then the digits before the point."""
    return con.execute(f"select case when {_int_ok('$v')} then {_int_value('$v')} end", {"v": text}).fetchall()[0][0]


def fast(con, text: str | None) -> int | None:
    return con.execute(f"select {_int_parse('$v')}", {"v": text}).fetchall()[0][0]


@pytest.mark.parametrize("text", [*LENIENT, *TAKEN, None, "", "-", "."])
def test_the_cast_and_round_trip_give_the_regex_verdict_and_value(con, text):
    assert fast(con, text) == strict(con, text)
    if text in TAKEN:
        assert fast(con, text) == TAKEN[text]
    if text in LENIENT:
        assert fast(con, text) is None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789+-._ex \t٣", max_size=16))
def test_any_text_of_digits_signs_points_and_letters_gets_the_regex_verdict(con, text):
    assert fast(con, text) == strict(con, text)


def export(tmp_path: Path) -> Path:
    """The tiny export with sessions and check-ins that hold lenient numbers, dates and yes/no values."""
    out = tmp_path / "export"
    shutil.copytree(TINY, out)
    durations = ["1e3", "0x10", "1_000", "12.5", "٣", "1234567890123", "+7", "007", "30.0", " 7", "-0"]
    with (out / "sessions.csv").open("a") as fh:
        for i, minutes in enumerate(durations):
            fh.write(f"X{i},north,2025-01-2{i % 10},group,M01,{minutes},intro\n")
        fh.write("X20,north,2025-1-5,group,M01,60,intro\n")  # DuckDB's date cast takes it, as the text path always has
        fh.write("X21,north,2025-02-30,group,M01,60,intro\n")
    with (out / "check_ins.csv").open("a") as fh:
        for i, reached in enumerate(["true", "false", "True", "YES", "0", "tru", "truee", " false"]):
            fh.write(f"P003,M02,2025-02-{10 + i},phone,{reached}\n")
    return out


def test_lenient_values_are_still_quarantined_with_their_line_and_reason(tmp_path):
    db = tmp_path / "wh.duckdb"
    run_etl(export(tmp_path), db)
    with duckdb.connect(str(db), read_only=True) as c:
        q = c.execute(
            "select entity, line, column_name, value, reason from quarantine"
            " where entity in ('sessions', 'check_ins') order by entity, line"
        ).fetchall()
        minutes = dict(c.execute("select session_id, duration_minutes from sessions where session_id like 'X%'").fetchall())
        dates = dict(c.execute("select session_id, session_date from sessions where session_id like 'X%'").fetchall())
        reached = c.execute(
            "select reached from check_ins where checked_in_on between date '2025-02-10' and date '2025-02-17'"
            " order by checked_in_on"
        ).fetchall()
    first = sum(1 for _ in (TINY / "sessions.csv").open()) + 1  # the line of the first appended session
    whole = "duration_minutes is not a whole number"
    assert [r for r in q if r[0] == "sessions"] == [
        ("sessions", first + 0, "duration_minutes", "1e3", whole),
        ("sessions", first + 1, "duration_minutes", "0x10", whole),
        ("sessions", first + 2, "duration_minutes", "1_000", whole),
        ("sessions", first + 3, "duration_minutes", "12.5", whole),
        ("sessions", first + 4, "duration_minutes", "٣", whole),
        ("sessions", first + 5, "duration_minutes", "1234567890123", whole),
        ("sessions", first + 10, "duration_minutes", "-0", "duration_minutes must be between 1 and 1440"),
        ("sessions", first + 12, "session_date", "2025-02-30", "session_date is not a date (expected YYYY-MM-DD)"),
    ]
    assert minutes == {"X6": 7, "X7": 7, "X8": 30, "X9": 7, "X20": 60}
    assert str(dates["X20"]) == "2025-01-05"
    check_first = sum(1 for _ in (TINY / "check_ins.csv").open()) + 1
    not_yes_no = "reached is not yes/no (true/false, yes/no, 1/0)"
    assert [r for r in q if r[0] == "check_ins"] == [
        ("check_ins", check_first + 5, "reached", "tru", not_yes_no),
        ("check_ins", check_first + 6, "reached", "truee", not_yes_no),
    ]
    assert [r[0] for r in reached] == [True, False, True, True, False, False]
