"""The research extract holds to privacy.md: random per-extract ids, days since enrollment, years only,
ages top-coded at 90, and every warehouse row accounted for (real warehouse, real CSV files)."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from peer_outcomes.pipelines import extract
from peer_outcomes.pipelines.extract import CUTOFF_WINDOW, DICTIONARY, TABLES, write_extract
from peer_outcomes.pipelines.warehouse import query as warehouse

# A year-month, a full date or a timestamp, or a quarter label: all finer than a year.
FINER_THAN_YEAR = re.compile(r"\b(19|20)\d\d[-/](0[1-9]|1[0-2])\b|\b(19|20)\d\d-?Q[1-4]\b|\d\d:\d\d")


@pytest.fixture(scope="module")
def extract_dir(synth_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("extract") / "x"
    write_extract(synth_warehouse, out)
    return out


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_extract_has_no_calendar_date_finer_than_a_year(extract_dir: Path) -> None:
    offenders = []
    for path in extract_dir.iterdir():
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if FINER_THAN_YEAR.search(line):
                offenders.append(f"{path.name}:{n}: {line[:80]}")
    assert offenders == []


def test_extract_holds_no_keyed_pseudonym_and_no_warehouse_key(
    extract_dir: Path, synth_warehouse: Path
) -> None:
    pids = set(
        warehouse(
            synth_warehouse,
            "select participant_pid as v from participants union all select mentor_pid from mentors",
        )["v"]
    )
    # numeric session ids would collide with counts by chance; those are covered by the column-name check
    session_ids = {
        s
        for s in warehouse(synth_warehouse, "select session_id from sessions")["session_id"]
        if not s.isdigit()
    }
    assert len(pids) > 100
    for path in extract_dir.glob("*.csv"):
        frame = read(path)
        assert not [c for c in frame.columns if c.endswith(("_key", "_pid")) or c == "session_id"], path.name
        values = set(frame.to_numpy().ravel())
        assert not values & pids, f"{path.name} holds a keyed pseudonym"
        if path.name != DICTIONARY:
            assert not values & session_ids, f"{path.name} holds a program session id"


def test_extract_tops_ages_at_90(synth_warehouse: Path, tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    shutil.copy(synth_warehouse, db)
    con = duckdb.connect(str(db))
    con.execute(
        "update participants set age_at_enrollment = 104 where participant_key = "
        "(select min(participant_key) from participants)"
    )
    con.close()
    write_extract(db, tmp_path / "x")
    ages = pd.to_numeric(read(tmp_path / "x" / "participants.csv")["age_at_enrollment"], errors="coerce")
    assert ages.max() == 90
    assert (ages == 90).sum() >= 1


def test_extract_ids_are_new_in_every_extract(
    extract_dir: Path, synth_warehouse: Path, tmp_path: Path
) -> None:
    write_extract(synth_warehouse, tmp_path / "second")
    for name, column in [("participants.csv", "participant_id"), ("mentors.csv", "mentor_id")]:
        first = set(read(extract_dir / name)[column])
        second = set(read(tmp_path / "second" / name)[column])
        assert len(first) == len(second) > 0
        assert first.isdisjoint(second)


CUT_ROWS = {  # files whose rows after a still-enrolled person's follow-up end are left out: the row's date
    "attendance.csv": "(select a.participant_key, s.session_date as d from attendance a join sessions s using (session_key))",
    "substance_use.csv": "(select participant_key, event_on as d from substance_use)",
    "milestones.csv": "(select participant_key, achieved_on as d from milestones)",
    "matches.csv": "(select participant_key, matched_on as d from matches)",
}


def test_extract_row_counts_match_the_warehouse(extract_dir: Path, synth_warehouse: Path) -> None:
    for table in TABLES:
        expected = warehouse(synth_warehouse, f"select count(*) as n from {table.source} t")["n"][0]
        got = len(read(extract_dir / table.file))
        if table.file in CUT_ROWS:  # only rows of people still enrolled, dated in the last CUTOFF_WINDOW days
            recent = warehouse(
                synth_warehouse,
                f"""select count(*) as n from {CUT_ROWS[table.file]} r join participants p using (participant_key)
                    cross join settings s where r.d > s.as_of - {CUTOFF_WINDOW}
                    and r.participant_key not in (select participant_key from exits)""",
            )["n"][0]
            assert expected - recent <= got < expected, table.file
        elif table.file != "dose_weekly.csv":
            assert got == expected, table.file


def test_extract_ids_link_the_files_of_one_extract(extract_dir: Path) -> None:
    people = set(read(extract_dir / "participants.csv")["participant_id"])
    assert set(read(extract_dir / "participant_outcomes.csv")["participant_id"]) == people
    for name in ("attendance.csv", "exits.csv", "matches.csv", "dose_weekly.csv"):
        assert set(read(extract_dir / name)["participant_id"]) <= people, name
    mentors = set(read(extract_dir / "mentors.csv")["mentor_id"])
    assert set(read(extract_dir / "matches.csv")["mentor_id"]) <= mentors


def test_extract_day_counts_equal_the_warehouse_date_differences(
    extract_dir: Path, synth_warehouse: Path
) -> None:
    expected = warehouse(
        synth_warehouse,
        "select e.exit_on - p.enrolled_on as d, e.reason from exits e "
        "join participants p using (participant_key)",
    )
    got = read(extract_dir / "exits.csv")
    assert sorted(zip(got["exit_days"].astype(int), got["reason"], strict=True)) == sorted(
        zip(expected["d"].astype(int), expected["reason"], strict=True)
    )
    years = warehouse(
        synth_warehouse, "select year(enrolled_on) as y, count(*) as n from participants group by 1"
    )
    got_years = read(extract_dir / "participants.csv")["enrollment_year"].astype(int).value_counts()
    assert dict(zip(years["y"], years["n"], strict=True)) == got_years.to_dict()


def test_data_dictionary_describes_every_column_of_every_file(extract_dir: Path) -> None:
    with (extract_dir / DICTIONARY).open() as fh:
        described = {(r["file"], r["column"]): r["description"] for r in csv.DictReader(fh)}
    for table in TABLES:
        for column in read(extract_dir / table.file).columns:
            assert described.get((table.file, column), "").strip(), f"{table.file}.{column} is not described"


def test_extract_into_a_non_empty_folder_ends_with_one_sentence(
    synth_warehouse: Path, tmp_path: Path
) -> None:
    (tmp_path / "old.txt").write_text("x")
    cli = Path(sys.executable).parent / "peer-outcomes"
    run = subprocess.run(
        [cli, "extract", "--out", tmp_path, "--db", synth_warehouse],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    assert (
        " ".join(run.stderr.split())
        == f"Error: The folder {tmp_path} is not empty; give a new folder for the extract."
    )


LONGEST = {  # every time since enrollment an attacker can read, per file
    "participant_outcomes.csv": ["retention_days", "relapse_days", "follow_up_days", "days_to_first_match"],
    "competing_outcomes.csv": ["time_days"],
    "milestone_outcomes.csv": ["achieved_days"],
    "dose_weekly.csv": ["stop_days"],
    "attendance.csv": ["session_days"],
    "substance_use.csv": ["event_days"],
    "milestones.csv": ["achieved_days"],
    "matches.csv": ["matched_days", "ended_days"],
}


def enrollment_attack(extract_dir: Path, db: Path) -> tuple[int, int]:
    """Issue 11's attack: for each person without an exit, enrollment = published cutoff - the longest time
    the extract gives them; a hit is a guess that matches exactly one warehouse participant of the same site,
    enrollment year, age and gender. Returns (hits, people attacked)."""
    as_of = pd.Timestamp(warehouse(db, "select as_of from settings")["as_of"][0])
    longest: dict[str, int] = {}
    for name, columns in LONGEST.items():
        frame = read(extract_dir / name)
        for column in columns:
            days = pd.to_numeric(frame[column], errors="coerce")
            for pid, d in days.groupby(frame["participant_id"]).max().dropna().items():
                longest[pid] = max(longest.get(pid, 0), int(d))
    exited = set(read(extract_dir / "exits.csv")["participant_id"])
    truth = warehouse(
        db,
        """select site, cast(year(enrolled_on) as varchar) as y,
        coalesce(cast(age_at_enrollment as varchar), '') as age, coalesce(gender, '') as gender,
        enrolled_on from participants""",
    )
    index = Counter(
        zip(
            truth["site"],
            truth["y"],
            truth["age"],
            truth["gender"],
            pd.to_datetime(truth["enrolled_on"]),
            strict=True,
        )
    )
    people = read(extract_dir / "participants.csv")
    attacked = hits = 0
    for row in people.itertuples():
        if row.participant_id in exited:
            continue
        attacked += 1
        guess = as_of - pd.Timedelta(days=longest.get(row.participant_id, 0))
        hits += index[(row.site, row.enrollment_year, row.age_at_enrollment, row.gender, guess)] == 1
    return hits, attacked


def test_cutoff_minus_follow_up_does_not_give_enrollment_dates_back(
    extract_dir: Path, synth_warehouse: Path
) -> None:
    hits, attacked = enrollment_attack(extract_dir, synth_warehouse)
    assert attacked > 200
    # by chance a guess is right when the person's offset is 0 and a row falls on their last day: ~1/90
    assert hits / attacked < 3 / CUTOFF_WINDOW


def test_without_the_cutoff_offset_the_attack_would_succeed(
    synth_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extract, "CUTOFF_WINDOW", 1)  # offsets all 0: follow-up reaches the cutoff
    write_extract(synth_warehouse, tmp_path / "x")
    hits, attacked = enrollment_attack(tmp_path / "x", synth_warehouse)
    assert hits / attacked > 0.8


def test_the_cutoff_offset_is_the_same_in_every_extract(
    extract_dir: Path, synth_warehouse: Path, tmp_path: Path
) -> None:
    write_extract(synth_warehouse, tmp_path / "second")  # else comparing extracts would narrow the window

    def times(directory: Path) -> list[tuple]:
        frame = read(directory / "competing_outcomes.csv")
        return sorted(
            zip(frame["site"], frame["enrollment_year"], frame["time_days"], frame["event_code"], strict=True)
        )

    assert times(extract_dir) == times(tmp_path / "second")
