"""The mentoring-practice files (goals, check_ins, referrals, mentor_activity, incidents) and
mentors.former_participant_id through the real ETL: keys, quarantine reasons, upsert, mapping, absence."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from peer_outcomes.pipelines.contract import LOAD_ORDER, PRACTICE_ENTITIES
from peer_outcomes.pipelines.etl import run_etl
from peer_outcomes.pipelines.pseudonym import load_key, pseudonymize

TINY = Path(__file__).parents[1] / "fixtures" / "exports" / "tiny"


def fetch(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_practice_rows_carry_the_integer_keys_of_their_participant_and_mentor(tmp_path):
    db = tmp_path / "wh.duckdb"
    run_etl(TINY, db)
    got = fetch(
        db,
        """select g.goal_id, p.participant_pid, m.mentor_pid from goals g
           join participants p using (participant_key) left join mentors m using (mentor_key) order by 1""",
    )
    key = load_key()
    assert got == [
        ("G1", pseudonymize("P003", "participant", key), pseudonymize("M02", "mentor", key)),
        ("G2", pseudonymize("P005", "participant", key), None),
    ]
    assert fetch(db, "select reached from check_ins order by checked_in_on") == [(True,), (False,)]
    assert fetch(db, "select supervision_hours, active from mentor_activity order by mentor_key") == [
        (1.5, True),
        (0.0, True),
    ]
    assert fetch(db, "select incident_id, participant_key is null from incidents order by 1") == [
        ("I1", False),
        ("I2", True),
    ]


def test_an_export_without_the_practice_files_loads_and_leaves_their_tables_empty(tmp_path):
    export = tmp_path / "export"
    shutil.copytree(TINY, export)
    for name in PRACTICE_ENTITIES:
        (export / f"{name}.csv").unlink()
    db = tmp_path / "wh.duckdb"
    report = run_etl(export, db)
    assert sorted(f.entity for f in report.files) == sorted(e for e in LOAD_ORDER if e not in PRACTICE_ENTITIES)
    for name in PRACTICE_ENTITIES:
        assert fetch(db, f"select count(*) from {name}") == [(0,)], name
    assert fetch(db, "select count(*) from mentors where former_participant_pid is not null") == [(0,)]


def test_former_participant_id_is_stored_as_the_participants_pseudonym_and_joins_to_their_row(tmp_path):
    export = tmp_path / "export"
    shutil.copytree(TINY, export)
    (export / "mentors.csv").write_text(
        "mentor_id,site,started_on,former_participant_id\n"
        "M01,north,2020-03-01,\n"
        "M02,south,2022-07-01, p002 \n"  # trimmed and case-folded like every id
        "M03,south,2022-07-01,P999\n"  # a participant of an earlier (or later) export: kept, not refused
    )
    db = tmp_path / "wh.duckdb"
    report = run_etl(export, db)
    assert report.file("mentors").rows_quarantined == 0
    key = load_key()
    assert fetch(db, "select former_participant_pid from mentors order by mentor_key") == [
        (None,),
        (pseudonymize("P002", "participant", key),),
        (pseudonymize("P999", "participant", key),),
    ]
    linked = fetch(
        db,
        "select p.enrolled_on::varchar from mentors m join participants p on p.participant_pid = m.former_participant_pid",
    )
    assert linked == [("2025-01-08",)]
    data = db.read_bytes()
    assert b"P999" not in data and b"p002" not in data


# One bad row appended to each tiny file: (file, row, (line, column, kept value, reason)).
BAD = [
    ("goals", "G3,P001,M01,hobbies,2025-01-12,,open,2025-01-12",
     (4, "domain", "hobbies", "domain is not one of recovery, health, housing, employment, education, family, legal, other")),
    ("goals", "G3,P001,M01,health,2025-02-12,2025-02-01,open,2025-02-12",
     (4, "target_on", "2025-02-01", "target_on is before set_on")),
    ("goals", "G3,P001,M01,health,2025-02-12,,met,2025-02-11",
     (4, "status_on", "2025-02-11", "status_on is before set_on")),
    ("goals", "G3,P001,M01,health,2025-01-02,,open,2025-01-02",
     (4, "set_on", "2025-01-02", "set_on is before the participant's enrollment")),
    ("goals", "G3,P001,M09,health,2025-02-12,,open,2025-02-12",
     (4, "mentor_id", None, "goals refers to a mentor that is not in mentors.csv")),
    ("goals", "G1,P001,M01,recovery,2025-01-12,,open,2025-01-12",
     (4, None, None, "duplicate of line 2")),
    ("check_ins", "P001,M01,2025-01-28,smoke_signal,yes",
     (4, "mode", "smoke_signal", "mode is not one of in_person, phone, text, video")),
    ("check_ins", "P001,M01,2025-01-28,phone,maybe",
     (4, "reached", "maybe", "reached is not yes/no (true/false, yes/no, 1/0)")),
    ("check_ins", "P009,M01,2025-01-28,phone,yes",
     (4, "participant_id", None, "check_ins refers to a participant that is not in participants.csv")),
    ("check_ins", "P005,M01,2025-01-28,phone,yes",
     (4, "checked_in_on", "2025-01-28", "checked_in_on is before the participant's enrollment")),
    ("check_ins", "P001,,2025-01-28,phone,yes", (4, "mentor_id", None, "mentor_id is missing")),
    ("referrals", "R3,P001,M01,2025-02-01,treatment,connected,2025-01-20",
     (4, "connected_on", "2025-01-20", "connected_on is before made_on")),
    ("referrals", "R3,P001,M01,2025-02-01,treatment,declined,2025-02-10",
     (4, "connected_on", "2025-02-10", "connected_on is given but outcome is not connected")),
    ("referrals", "R3,P001,M01,2025-02-01,casino,connected,",
     (4, "resource_type", "casino", "resource_type is not one of treatment, mat, detox, mutual_aid, housing, "
      "employment, legal, health, other")),
    ("referrals", "R3,P001,M01,2025-02-01,treatment,connected,2099-04-01",
     (4, "connected_on", "2099-04-01", "connected_on is in the future")),
    ("mentor_activity", "M01,2025-02-15,1,0,true",
     (4, "month", "2025-02-15", "month is not the first day of a month (write 2025-03-01, or declare %Y-%m in "
      "mapping.yaml)")),
    ("mentor_activity", "M01,2025-02-01,1,5,true", None),  # a good row, for contrast
    ("mentor_activity", "M01,2025-02-01,1,1,5,true", (4, None, None, "the row has 6 values but the header has 5 columns")),
    ("mentor_activity", "M01,2025-02-01,\"1,5\",0,true",
     (4, "supervision_hours", "1,5", "supervision_hours is not a number")),
    ("mentor_activity", "M01,2025-02-01,800,0,true",
     (4, "supervision_hours", "800", "supervision_hours must be between 0 and 744")),
    ("mentor_activity", "M02,2022-06-01,1,0,true",
     (4, "month", "2022-06-01", "month is before the month the mentor started")),
    ("incidents", "I3,M01,P001,2025-02-02,boundary,catastrophic",
     (4, "severity", "catastrophic", "severity is not one of low, moderate, high")),
    ("incidents", "I3,M07,,2025-02-02,boundary,low",
     (4, "mentor_id", None, "incidents refers to a mentor that is not in mentors.csv")),
]  # fmt: skip


@pytest.mark.parametrize(("entity", "row", "expected"), BAD, ids=[f"{e}-{i}" for i, (e, _, _) in enumerate(BAD)])
def test_a_bad_practice_row_is_quarantined_with_its_line_column_and_plain_reason(tmp_path, entity, row, expected):
    export = tmp_path / "export"
    shutil.copytree(TINY, export)
    path = export / f"{entity}.csv"
    path.write_text(path.read_text() + row + "\n")
    db = tmp_path / "wh.duckdb"
    report = run_etl(export, db)
    got = fetch(db, "select line, column_name, value, reason from quarantine")
    assert got == ([expected] if expected else [])
    f = report.file(entity)
    assert (f.rows_read, f.rows_loaded) == (3, 2 if expected else 3)


def test_a_corrected_goal_replaces_the_old_row_on_its_goal_id(tmp_path):
    db = tmp_path / "wh.duckdb"
    run_etl(TINY, db)
    fixed = tmp_path / "fixed"
    shutil.copytree(TINY, fixed)
    (fixed / "goals.csv").write_text(
        "goal_id,participant_id,mentor_id,domain,set_on,target_on,status,status_on\n"
        "G2,P005,M02,housing,2025-02-05,,met,2025-03-05\n"
    )
    run_etl(fixed, db)
    assert fetch(db, "select goal_id, status, status_on::varchar, mentor_key from goals order by 1") == [
        ("G1", "met", "2025-02-20", 2),
        ("G2", "met", "2025-03-05", 2),
    ]


def test_mapping_renames_recodes_and_reads_months_written_as_year_and_month(tmp_path):
    export = tmp_path / "export"
    shutil.copytree(TINY, export)
    (export / "check_ins.csv").write_text("Client,Peer,on,How,Reached?\nP001,M01,2025-01-14,Call,Y\n")
    (export / "mentor_activity.csv").write_text(
        "mentor_id,Month,Supervision,training_hours,active\nM01,2025-01,1.25,0,yes\n"
    )
    (export / "mapping.yaml").write_text(
        "columns:\n"
        "  check_ins: {Client: participant_id, Peer: mentor_id, 'on': checked_in_on, How: mode, 'Reached?': reached}\n"
        "  mentor_activity: {Month: month, Supervision: supervision_hours}\n"
        "values:\n  check_ins: {mode: {Call: phone}, reached: {Y: 'yes'}}\n"
        "date_formats:\n  mentor_activity: {month: '%Y-%m'}\n"
    )
    db = tmp_path / "wh.duckdb"
    report = run_etl(export, db)
    assert report.rows_quarantined == 0
    assert fetch(db, "select checked_in_on::varchar, mode, reached from check_ins") == [("2025-01-14", "phone", True)]
    assert fetch(db, "select month::varchar, supervision_hours from mentor_activity") == [("2025-01-01", 1.25)]


def test_a_goal_target_after_the_cutoff_is_loaded_and_does_not_move_the_cutoff(tmp_path):
    export = tmp_path / "export"
    shutil.copytree(TINY, export)
    (export / "goals.csv").write_text(
        "goal_id,participant_id,mentor_id,domain,set_on,target_on,status,status_on\n"
        "G9,P003,M02,employment,2025-02-01,2099-12-31,open,2025-02-01\n"
    )
    db = tmp_path / "wh.duckdb"
    report = run_etl(export, db)
    assert report.rows_quarantined == 0 and str(report.as_of) == "2025-03-10"
    assert fetch(db, "select target_on::varchar from goals") == [("2099-12-31",)]
