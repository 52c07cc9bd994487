"""Realistic faults for a messy synthetic export (`pipelines.synth.generate(..., messy=True)`).

Every fault is an extra row inserted at a random place (the clean rows stay untouched, so the clean truth
still holds and the ETL should load exactly the clean rows), except the planted identifier columns on
participants and the byte-order mark + CRLF line ends of participants.csv. Each planted row is recorded in
`fault_rows` with its file, spreadsheet line (header = line 1), column and fault, and counted in `faults`.
Identifier values are obviously fake (555 phone numbers, example.invalid e-mails, 000 SSNs).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

IDENTIFIER_COLUMNS = (
    "first_name", "last_name", "phone", "email", "ssn", "address", "zip", "notes", "date_of_birth",
)  # fmt: skip
BOM_CRLF_FILES = ("participants.csv",)


def _as_strings(table: pa.Table) -> pa.Table:
    return table.cast(pa.schema([pa.field(f.name, pa.string()) for f in table.schema]))


def _identifiers(table: pa.Table, rng: np.random.Generator) -> pa.Table:
    """Fake direct identifiers on every participant row; date_of_birth agrees with age_at_enrollment."""
    n = table.num_rows
    enrolled = table.column("enrolled_on").to_pylist()
    ages = table.column("age_at_enrollment").to_pylist()
    back = rng.integers(1, 364, n).tolist()
    dob = []
    for e, a, k in zip(enrolled, ages, back, strict=True):
        d = date.fromisoformat(e)
        try:
            anniversary = d.replace(year=d.year - int(a))
        except ValueError:  # 29 February
            anniversary = d.replace(year=d.year - int(a), day=28)
        dob.append((anniversary - timedelta(days=k)).isoformat())
    i = np.arange(1, n + 1).tolist()
    cols = {
        "first_name": ["Test"] * n,
        "last_name": [f"Person{k:06d}" for k in i],
        "phone": [f"555-01{k % 100:02d}" for k in i],
        "email": [f"person{k}@example.invalid" for k in i],
        "ssn": [f"000-00-{k % 10000:04d}" for k in i],
        "address": [f"{k} Example Street, Apt {k % 9 + 1}" for k in i],
        "zip": ["00000"] * n,
        "notes": ["synthetic record; called twice, no answer"] * n,
        "date_of_birth": dob,
    }
    for name in IDENTIFIER_COLUMNS:
        table = table.append_column(name, pa.array(cols[name], pa.string()))
    return table


class _Planter:
    """Collects fault rows per file, then inserts them at random positions and records their lines."""

    def __init__(self, rng: np.random.Generator, tables: dict[str, pa.Table]):
        self.rng = rng
        self.tables = tables
        self.rows: dict[str, list[tuple[dict, str, str, object]]] = {}

    def row(self, name: str, i: int) -> dict:
        return {k: v[0] for k, v in self.tables[name].slice(i, 1).to_pydict().items()}

    def random_row(self, name: str) -> tuple[int, dict]:
        i = int(self.rng.integers(0, self.tables[name].num_rows))
        return i, self.row(name, i)

    def add(self, name: str, values: dict, column: str, fault: str, extra: object = None) -> None:
        self.rows.setdefault(name, []).append((values, column, fault, extra))

    def insert(self) -> tuple[dict[str, pa.Table], dict, list[dict]]:
        counts: dict[str, dict[str, int]] = {}
        records: list[dict] = []
        out = dict(self.tables)
        for name, planted in self.rows.items():
            table = self.tables[name]
            n, k = table.num_rows, len(planted)
            # positions >= k: every planted row has clean rows before it, so a duplicate can copy an
            # earlier row and "the later occurrence is the duplicate" holds
            pos = np.sort(k + self.rng.choice(n, size=k, replace=False))
            is_fault = np.zeros(n + k, bool)
            is_fault[pos] = True
            clean_before = np.cumsum(~is_fault)[pos]
            for idx, (_values, column, fault, _) in enumerate(planted):
                if fault == "duplicate_row":
                    src = int(self.rng.integers(0, clean_before[idx]))
                    planted[idx] = (self.row(name, src), column, fault, src)
            extra = pa.Table.from_pylist([v for v, *_ in planted], schema=table.schema)
            order = np.empty(n + k, np.int64)
            order[pos] = n + np.arange(k)
            order[~is_fault] = np.arange(n)
            out[name] = pa.concat_tables([table, extra]).take(pa.array(order))
            clean_line = np.flatnonzero(~is_fault) + 2  # line of clean row i after insertion
            for p, (values, column, fault, extra_info) in zip(pos.tolist(), planted, strict=True):
                rec = {"file": f"{name}.csv", "line": p + 2, "column": column, "fault": fault}
                if fault == "duplicate_row":
                    rec["duplicate_of_line"] = int(clean_line[extra_info])
                elif column and column in values and values[column] is not None:
                    rec["value"] = values[column]
                rec["fixable"] = isinstance(
                    extra_info, str
                )  # a lenient reader may repair it and load the row
                if rec["fixable"]:
                    rec["note"] = extra_info
                records.append(rec)
                counts.setdefault(f"{name}.csv", {}).setdefault(fault, 0)
                counts[f"{name}.csv"][fault] += 1
        records.sort(key=lambda r: (r["file"], r["line"]))
        return out, counts, records


def plant_faults(rng: np.random.Generator, tables: dict[str, pa.Table], people: dict) -> tuple[dict, dict]:
    """The messy export's tables (all columns as text) and the truth.json entries describing the faults."""
    rows_clean = {f"{k}.csv": t.num_rows for k, t in tables.items()}
    tables = {k: _as_strings(t) for k, t in tables.items()}
    tables["participants"] = _identifiers(tables["participants"], rng)
    pl = _Planter(rng, tables)

    def dup(name: str, times: int) -> None:
        for _ in range(times):  # the copied row is chosen on insertion, among the rows above it
            pl.add(name, {}, "", "duplicate_row")

    def new_participant(k: int, column: str, value: str | None, fault: str, note: object = None) -> None:
        _, r = pl.random_row("participants")
        r.update({"participant_id": f"PX{k:05d}", column: value})
        pl.add("participants", r, column, fault, note)

    dup("participants", 3)
    new_participant(1, "enrolled_on", "2025-02-30", "bad_date")
    new_participant(2, "enrolled_on", "yesterday", "bad_date")
    new_participant(
        3,
        "primary_substance",
        "Alcohol ",
        "unknown_code",
        "case and trailing space: a lenient reader may fix it",
    )
    new_participant(4, "housing_at_intake", "couch_surfing", "unknown_code")
    new_participant(5, "site", None, "missing_required")

    dup("mentors", 1)
    _, r = pl.random_row("mentors")
    r.update({"mentor_id": "MX001", "started_on": "2024-13-01"})
    pl.add("mentors", r, "started_on", "bad_date")

    dup("sessions", 2)
    for k in (1, 2):
        _, r = pl.random_row("sessions")
        r.update({"session_id": f"XS-GRP-{k}", "format": "grp"})
        pl.add("sessions", r, "format", "unknown_code")
    _, r = pl.random_row("sessions")
    r.update({"session_id": "XS-DATE-1", "session_date": "2025-02-30"})
    pl.add("sessions", r, "session_date", "bad_date")

    att = tables["attendance"]
    dup("attendance", 5)
    for k in (1, 2):
        _, r = pl.random_row("attendance")
        r["session_id"] = f"NO-SUCH-SESSION-{k}"
        pl.add("attendance", r, "session_id", "orphan_session")
        _, r = pl.random_row("attendance")
        r["participant_id"] = f"P{k:07d}"  # real ids are P1000000 and up
        pl.add("attendance", r, "participant_id", "orphan_participant")
    # a new (session, participant) pair: a one-on-one session (one attendee) with somebody else
    one_on_one = np.flatnonzero(np.char.startswith(np.array(att.column("session_id").to_pylist()), "S"))
    for status, fault in (("attnd", "unknown_code"), (None, "missing_required")):
        i = int(one_on_one[rng.integers(0, one_on_one.size)])
        r = pl.row("attendance", i)
        other = people["pid"][int(rng.integers(0, people["pid"].size))]
        r.update(
            {"participant_id": other if other != r["participant_id"] else people["pid"][0], "status": status}
        )
        pl.add("attendance", r, "status", fault)

    for k in (1, 2):
        p = int(rng.integers(0, people["pid"].size))
        before = np.datetime64(int(people["enrolled"][p]) - 10 * k, "D")
        r = {
            "participant_id": people["pid"][p],
            "event_on": str(before),
            "kind": "relapse",
            "substance": None,
            "source": "self_report",
        }
        pl.add("substance_use", r, "event_on", "date_before_enrollment")
    _, r = pl.random_row("participants")
    pl.add(
        "substance_use",
        {
            "participant_id": r["participant_id"],
            "event_on": "yesterday",
            "kind": "lapse",
            "substance": None,
            "source": "self_report",
        },
        "event_on",
        "bad_date",
    )

    have_exit = set(tables["exits"].column("participant_id").to_pylist())
    free = [
        i for i in rng.permutation(people["pid"].size)[:200].tolist() if people["pid"][i] not in have_exit
    ]
    p = free[0]
    before = str(np.datetime64(int(people["enrolled"][p]) - 5, "D"))
    pl.add(
        "exits",
        {"participant_id": people["pid"][p], "exit_on": before, "reason": "moved"},
        "exit_on",
        "date_before_enrollment",
    )
    p = free[1]
    pl.add(
        "exits",
        {
            "participant_id": people["pid"][p],
            "exit_on": str(np.datetime64(int(people["enrolled"][p]) + 20, "D")),
            "reason": "left",
        },
        "reason",
        "unknown_code",
    )

    if "goals" in tables:
        _practice_faults(pl, people)

    out, counts, records = pl.insert()
    return out, {
        "faults": counts,
        "fault_rows": records,
        "rows_clean": rows_clean,
        "rows_written": {f"{k}.csv": t.num_rows for k, t in out.items()},
        "planted_identifier_columns": {"participants.csv": list(IDENTIFIER_COLUMNS)},
        "bom_crlf_files": list(BOM_CRLF_FILES),
    }


def _practice_faults(pl: _Planter, people: dict) -> None:
    """Faults in the mentoring-practice files, each one the loader must quarantine at its line."""
    pl.add("goals", {}, "", "duplicate_row")
    _, r = pl.random_row("goals")
    r.update({"goal_id": "GX0001", "domain": "hobbies"})
    pl.add("goals", r, "domain", "unknown_code")
    _, r = pl.random_row("goals")
    r.update({"goal_id": "GX0002", "participant_id": "P0000003"})
    pl.add("goals", r, "participant_id", "orphan_participant")
    p = int(pl.rng.integers(0, people["pid"].size))
    before = str(np.datetime64(int(people["enrolled"][p]) - 3, "D"))
    _, r = pl.random_row("goals")
    r.update({"goal_id": "GX0003", "participant_id": people["pid"][p], "mentor_id": None, "set_on": before,
              "target_on": None, "status": "open", "status_on": before})  # fmt: skip
    pl.add("goals", r, "set_on", "date_before_enrollment")

    for _ in range(2):
        pl.add("check_ins", {}, "", "duplicate_row")
    _, r = pl.random_row("check_ins")
    r["mode"] = "carrier_pigeon"
    pl.add("check_ins", r, "mode", "unknown_code")
    _, r = pl.random_row("check_ins")
    r["reached"] = None
    pl.add("check_ins", r, "reached", "missing_required")

    pl.add("referrals", {}, "", "duplicate_row")
    _, r = pl.random_row("referrals")
    r.update({"referral_id": "RX0001", "resource_type": "casino"})
    pl.add("referrals", r, "resource_type", "unknown_code")
    _, r = pl.random_row("referrals")
    made = date.fromisoformat(r["made_on"])
    r.update({"referral_id": "RX0002", "outcome": "connected", "connected_on": str(made - timedelta(days=2))})
    pl.add("referrals", r, "connected_on", "date_order")

    pl.add("mentor_activity", {}, "", "duplicate_row")
    _, r = pl.random_row("mentor_activity")
    r["month"] = "2025-13-01"
    pl.add("mentor_activity", r, "month", "bad_date")
    _, r = pl.random_row("mentor_activity")
    r["mentor_id"] = "MX999"
    pl.add("mentor_activity", r, "mentor_id", "orphan_mentor")

    pl.add("incidents", {}, "", "duplicate_row")
    _, r = pl.random_row("incidents")
    r.update({"incident_id": "IX0001", "severity": "catastrophic"})
    pl.add("incidents", r, "severity", "unknown_code")
    _, r = pl.random_row("incidents")
    r.update({"incident_id": "IX0002", "mentor_id": "MX998"})
    pl.add("incidents", r, "mentor_id", "orphan_mentor")


def bom_and_crlf(path: Path) -> None:
    """Rewrite a CSV as a spreadsheet program would save it: UTF-8 byte-order mark and CRLF line ends."""
    data = path.read_bytes()
    path.write_bytes(b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n"))
