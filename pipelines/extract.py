"""Research extract: a de-identified row-level file set for outside researchers (docs/privacy.md).

Policy implemented (privacy.md, "A research extract"):
- random per-extract ids (`P…` for participants, `M…` for mentors) drawn fresh on every run, never the
  keyed pseudonyms or the warehouse's integer keys, so two extracts cannot be joined to each other;
- every date becomes whole days since the participant's enrollment (mentor dates: since the mentor
  started), except the enrollment year (and a mentor's start year, a session's year); cohort months,
  quarters and week starts are dropped;
- age top-coded at 90 (again, even though the warehouse already is);
- site codes are kept: they are the program's own short codes, site is a main stratum of every analysis,
  and a site is no finer than the enrollment year. A program that thinks a code identifies people must
  recode sites in its mapping before loading;
- session ids are not exported and attendance rows carry the session's attributes inline, so co-attendance
  cannot be used to line up participants' enrollment dates;
- no follow-up reaches the data cutoff: for a person still enrolled (no exit), days since enrollment would
  give the enrollment date back as cutoff − follow-up, and the cutoff is printed on every published chart.
  Each such person's follow-up therefore ends 0 to CUTOFF_WINDOW − 1 days before the cutoff, an offset
  drawn per person from the keyed HMAC of their pseudonym (the same in every extract of the warehouse, so
  more extracts do not narrow it): rows after it are left out and times are censored there (`TRUNCATE`).
  Residual risk: the enrollment date of a person still enrolled is known to within CUTOFF_WINDOW days
  (docs/privacy.md, "Research extract").
The extract is row-level and NOT a published aggregate: it is shared under a data-use agreement, not
suppressed. A data dictionary (data_dictionary.csv) describes every column of every file.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from peer_outcomes.pipelines.contract import AGE_TOP_CODE, ENTITIES
from peer_outcomes.pipelines.errors import UserError
from peer_outcomes.pipelines.marts import load_spec
from peer_outcomes.pipelines.pseudonym import key_id, program_key
from peer_outcomes.pipelines.warehouse import connect_readonly

DICTIONARY = "data_dictionary.csv"
CUTOFF_WINDOW = 90  # a person still enrolled is followed to 0..89 days before the cutoff
NOT_CUT = 10**9  # the follow-up end `t` of a person who exited: nothing is cut

# Per file: the rows kept (`where`) and the columns rewritten, once each still-enrolled person's follow-up
# ends at `t` days since enrollment: (time, event) pairs are censored at t, later rows are left out.
TRUNCATE: dict[str, tuple[str, dict[str, str]]] = {
    "attendance.csv": ("session_days <= t", {}),
    "substance_use.csv": ("event_days <= t", {}),
    "milestones.csv": ("achieved_days <= t", {}),
    "matches.csv": (
        "matched_days <= t",
        {
            "ended_days": "case when ended_days <= t then ended_days end",
            "end_reason": "case when ended_days <= t then end_reason end",
        },
    ),
    "dose_weekly.csv": (
        "start_days < t",
        {
            "stop_days": "least(stop_days, t)",
            "is_relapse": "case when stop_days <= t then is_relapse else 0 end",
            "is_disengaged": "case when stop_days <= t then is_disengaged else 0 end",
        },
    ),
    "participant_outcomes.csv": (
        "true",
        {
            "retention_days": "least(retention_days, t)",
            "is_disengaged": "case when retention_days <= t then is_disengaged else 0 end",
            "is_completed": "case when retention_days <= t then is_completed else 0 end",
            "retention_outcome": "case when retention_days <= t then retention_outcome else 'censored' end",
            "relapse_days": "least(relapse_days, t)",
            "is_relapse": "case when relapse_days <= t then is_relapse else 0 end",
            "follow_up_days": "least(follow_up_days, t)",
            "is_matched": "case when days_to_first_match > t then 0 else is_matched end",
            "days_to_first_match": "case when days_to_first_match <= t then days_to_first_match end",
        },
    ),
    "competing_outcomes.csv": (
        "true",
        {
            "time_days": "least(time_days, t)",
            "event_code": "case when time_days <= t then event_code else 0 end",
            "event_name": "case when time_days <= t then event_name else 'censored' end",
        },
    ),
    "milestone_outcomes.csv": (
        "true",
        {
            "achieved_days": "case when achieved_days <= t then achieved_days end",
            "days_to_achieve": "case when achieved_days <= t then days_to_achieve end",
            "is_achieved": "case when achieved_days <= t then is_achieved else 0 end",
            "is_observable": f"case when t = {NOT_CUT} then is_observable "
            "else cast(origin_days + milestone_days <= t as integer) end",
        },
    ),
}

# Columns never exported: keyed pseudonyms, and calendar detail finer than a year.
DROPPED = {"participant_pid", "mentor_pid", "former_participant_pid", "session_id", "session_key", "cohort_month", "cohort_quarter",
           "week_start"}
DATE_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")


@dataclass(frozen=True)
class Table:
    """One extract file: its warehouse source and the date its day counts start from."""

    file: str
    source: str  # a table name or a parenthesised select
    origin: str  # "participant" (enrolled_on), "mentor" (started_on) or "calendar" (years only)


ATTENDANCE = """(select a.participant_key, s.session_date, s.format, s.duration_minutes, s.topic,
    s.mentor_key, a.status from attendance a join sessions s using (session_key))"""

TABLES: tuple[Table, ...] = (
    Table("participants.csv", "participants", "participant"),
    Table("mentors.csv", "mentors", "mentor"),
    Table("matches.csv", "matches", "participant"),
    Table("sessions.csv", "sessions", "calendar"),
    Table("attendance.csv", ATTENDANCE, "participant"),
    Table("milestones.csv", "milestones", "participant"),
    Table("substance_use.csv", "substance_use", "participant"),
    Table("exits.csv", "exits", "participant"),
    Table("participant_outcomes.csv", "marts.participant_outcomes", "participant"),
    Table("competing_outcomes.csv", "marts.competing", "participant"),
    Table("milestone_outcomes.csv", "marts.milestones", "participant"),
    Table("dose_weekly.csv", "marts.dose_weekly", "participant"),
)

# Descriptions of the columns the extract itself creates or renames; the rest come from marts.yml and
# the contract (see `_describe`).
DESCRIPTIONS = {
    "participant_id": "random id of the participant, new in every extract (not the program's id)",
    "mentor_id": "random id of the mentor, new in every extract (not the program's id)",
    "enrollment_year": "calendar year of enrollment (the only calendar detail kept)",
    "started_year": "calendar year the mentor started mentoring",
    "session_year": "calendar year of the session",
    "age_at_enrollment": f"age in years at enrollment, top-coded at {AGE_TOP_CODE}",
    "site": "the program's site code",
    "program_track": "comparison arm or track, where the program has one",
    "status": "attended, no_show, cancelled or excused",
    "format": "one_on_one, group, online or workshop",
    "duration_minutes": "session length in minutes",
    "topic": "short topic code of the session",
    "kind": "lapse or relapse",
    "reason": "exit reason: completed, dropped_out, transferred, moved, incarcerated, deceased, other",
    "end_reason": "why the match ended: completed, rematched, participant_left, mentor_left, other",
    "gender": "female, male, nonbinary, other or unknown",
    "race_ethnicity": "the program's short race/ethnicity code",
    "primary_substance": "alcohol, opioids, stimulants, cannabis, sedatives, polysubstance, other or unknown",
    "substance": "substance used: as primary_substance",
    "referral_source": "self, treatment_program, court, hospital, community or other",
    "housing_at_intake": "stable, unstable, homeless or unknown",
    "employed_at_intake": "employed at intake (true/false)",
    "prior_treatment_episodes": "number of earlier treatment episodes",
    "source": "how the event became known: self_report, test, collateral or other",
    "retention_days": "days from enrollment to disengagement, completion or censoring (docs/outcomes.md)",
    "relapse_days": "days from enrollment to the first relapse or censoring at last contact",
    "milestone_days": "sobriety milestone in days (30, 60, 90, 180, 365, 730, ...)",
    "week": "0-based week since enrollment",
    "start_days": "interval start, days since enrollment (counting-process (start, stop])",
    "stop_days": "interval stop, days since enrollment",
    "time_days": "days from enrollment to the first competing event or censoring",
    "event_code": "0 censored, 1 relapse, 2 dropout, 3 completion",
    "event_name": "censored, relapse, dropout or completion",
}


@dataclass
class ExtractReport:
    """What an extract wrote: rows per file, in the order written."""

    out_dir: Path
    rows: dict[str, int] = field(default_factory=dict)


def random_ids(n: int, prefix: str) -> list[str]:
    """`n` distinct random ids (48 bits each, from the OS's secure source), e.g. `P3f9c01a2b7de`."""
    rng = np.random.default_rng(secrets.randbits(128))
    while True:
        values = rng.integers(0, 2**48, size=n, dtype=np.int64)
        if len(np.unique(values)) == n:
            return [f"{prefix}{v:012x}" for v in values]


def _date_name(column: str) -> str:
    """`recovery_start_on` -> `recovery_start`, `session_date` -> `session`."""
    for suffix in ("_on", "_date", "_at"):
        if column.endswith(suffix):
            return column[: -len(suffix)]
    return column


def _select(table: Table, columns: list[tuple[str, str]]) -> tuple[str, list[tuple[str, str]]]:
    """The select for one file and, per output column, the rule applied (for the data dictionary)."""
    names = {name for name, _ in columns}
    exprs: list[str] = []
    rules: list[tuple[str, str]] = []
    joins = ""
    if table.origin == "participant" and table.source != "participants":
        joins += " join participants o using (participant_key)"
    origin = {"participant": "o.enrolled_on", "mentor": "t.started_on"}.get(table.origin)
    if table.source == "participants":
        origin = "t.enrolled_on"
    for name, dtype in columns:
        if name in DROPPED or name.endswith("_pid"):
            continue
        if name == "participant_key":
            exprs.append("pid.research_id as participant_id")
            joins += " join pid on pid.key = t.participant_key"
            rules.append(("participant_id", ""))
        elif name == "mentor_key":
            exprs.append("mid.research_id as mentor_id")
            joins += " left join mid on mid.key = t.mentor_key"
            rules.append(("mentor_id", ""))
        elif name.endswith("_key"):
            raise RuntimeError(f"extract: no rule for the surrogate key {name} in {table.file}")
        elif name == "age_at_enrollment":
            exprs.append(f"least(t.age_at_enrollment, {AGE_TOP_CODE}) as age_at_enrollment")
            rules.append((name, ""))
        elif dtype in DATE_TYPES and (
            name == "enrolled_on" or table.origin == "calendar" or (name, table.origin) == ("started_on", "mentor")
        ):
            year = {"enrolled_on": "enrollment_year", "started_on": "started_year"}.get(
                name, f"{_date_name(name)}_year"
            )
            exprs.append(f"year(t.{name}) as {year}")
            rules.append((year, ""))
        elif dtype in DATE_TYPES:
            days = f"{_date_name(name)}_days"
            if days in names:  # the mart already holds this day count
                continue
            exprs.append(f"date_diff('day', {origin}::date, t.{name}::date) as {days}")
            since = "enrollment" if table.origin == "participant" else "the mentor started"
            rules.append((days, f"days from {since} to {name} (the date itself is removed)"))
        else:
            exprs.append(f"t.{name}")
            rules.append((name, ""))
    sql = f"select {', '.join(exprs)} from {table.source} t{joins}"
    first = rules[0][0] if rules else "1"
    if table.file in TRUNCATE:  # follow-up ends before the cutoff for people still enrolled (module docstring)
        where, replace = TRUNCATE[table.file]
        present = {name for name, _ in rules}
        replaced = ", ".join(f"{expr} as {col}" for col, expr in replace.items() if col in present)
        star = f"x.* replace ({replaced})" if replaced else "x.*"
        sql = f"select {star} from ({sql}) x join cut using (participant_id) where {where}"
        cut_columns = set(replace) | {where.split()[0]}
        rules = [(n, rule or (f"{_describe_base(n)}; {CUT_NOTE}" if n in cut_columns else "")) for n, rule in rules]
    return f"{sql} order by {first}", rules


@functools.cache
def _mart_descriptions() -> dict[str, str]:
    """Column descriptions from marts.yml, by bare column name (first mart that describes it wins)."""
    spec = load_spec()
    out: dict[str, str] = {}
    for mart in spec["marts"]:
        for name, col in (mart.get("columns") or {}).items():
            if isinstance(col, dict) and col.get("description"):
                out.setdefault(name, str(col["description"]))
    return out


def _describe(name: str, rule: str, marts: dict[str, str]) -> str:
    """The best description we have: the extract's own rule, ours, marts.yml, the contract, a pattern."""
    if rule:
        return rule
    if name in DESCRIPTIONS:
        return DESCRIPTIONS[name]
    if name in marts:
        return marts[name]
    for entity in ENTITIES.values():
        if name in entity.column_names and entity.column(name).note:
            return entity.column(name).note
    if name.startswith("is_"):
        return f"1 (true) if {name[3:].replace('_', ' ')}, else 0"
    if name.startswith("n_"):
        return f"number of {name[2:].replace('_', ' ')}"
    if name.endswith("_days"):
        return f"{name[:-5].replace('_', ' ')}, in days"
    return name.replace("_", " ")


def write_extract(db: Path, out_dir: Path) -> ExtractReport:
    """Write the de-identified research extract of warehouse `db` into the new or empty folder `out_dir`."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir} is a file; give a new folder for the extract.")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise UserError(f"The folder {out_dir} is not empty; give a new folder for the extract.")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"The folder {out_dir} cannot be created ({exc.strerror}).") from None
    report = ExtractReport(out_dir)
    marts = _mart_descriptions()
    dictionary: list[dict[str, str]] = []
    with connect_readonly(db) as con:
        present = {f"{s}.{t}" if s != "main" else t for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}
        missing = [t.source for t in TABLES if not t.source.startswith("(") and t.source not in present]
        if missing:
            raise UserError(f"The warehouse {db} lacks {', '.join(missing)}; rebuild it with `peer-outcomes etl`.")
        people = con.execute(
            """select p.participant_key, p.participant_pid, date_diff('day', p.enrolled_on, s.as_of),
                      p.participant_key in (select participant_key from exits), s.key_id, p.program
               from participants p join programs s using (program) order by p.participant_key"""
        ).fetchall()
        keys = [r[0] for r in people]
        mkeys = [r[0] for r in con.execute("select mentor_key from mentors").fetchall()]
        research = random_ids(len(keys), "P")
        con.register("pid", pd.DataFrame({"key": keys, "research_id": research}))
        con.register("cut", pd.DataFrame({"participant_id": research, "t": _follow_up_ends(people)}))
        con.register("mid", pd.DataFrame({"key": mkeys, "research_id": random_ids(len(mkeys), "M")}))
        for table in TABLES:
            described = con.execute(f"describe select * from {table.source} t").fetchall()
            sql, rules = _select(table, [(r[0], r[1]) for r in described])
            path = out_dir / table.file
            con.execute(f"copy ({sql}) to '{path}' (header, delimiter ',')")
            types = {r[0]: r[1] for r in con.execute(f"describe {sql}").fetchall()}
            report.rows[table.file] = con.execute(f"select count(*) from ({sql})").fetchone()[0]
            for name, rule in rules:
                dictionary.append({"file": table.file, "column": name, "type": types[name],
                                   "description": _describe(name, rule, marts)})
    with (out_dir / DICTIONARY).open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["file", "column", "type", "description"])
        writer.writeheader()
        writer.writerows(dictionary)
    (out_dir / "README.md").write_text(_readme(report))
    return report


CUT_NOTE = (
    f"for a person still enrolled, follow-up ends 0-{CUTOFF_WINDOW - 1} days before the data cutoff "
    "(README.md)"
)


def _describe_base(name: str) -> str:
    return _describe(name, "", _mart_descriptions())


def cutoff_offset(key: bytes, participant_pid: str) -> int:
    """Days (0 .. CUTOFF_WINDOW - 1) by which a still-enrolled person's follow-up ends before the cutoff.

    From the keyed HMAC of the pseudonym: unpredictable without the key, and the same in every extract of
    the warehouse, so that comparing several extracts does not narrow it down.
    """
    digest = hmac.digest(key, f"extract-cutoff|{participant_pid}".encode(), hashlib.sha256)
    return int.from_bytes(digest[:8], "big") % CUTOFF_WINDOW


def _follow_up_ends(people: list[tuple]) -> list[int]:
    """`t` per participant: days from enrollment to the end of their follow-up in the extract."""
    if not people:
        return []
    keys: dict[str, bytes] = {}  # each program's own key (pseudonym.program_key), checked against its key id
    for *_, wanted, program in people:
        if program not in keys:
            keys[program] = program_key(program)
            if key_id(keys[program]) != wanted:
                raise UserError(
                    "The research extract needs the pseudonym key this warehouse was built with "
                    f"(key id {wanted}); set PEER_OUTCOMES_KEY_FILE to it."
                )
    return [
        NOT_CUT if exited else max(fu - cutoff_offset(keys[program], pid), 0)
        for _, pid, fu, exited, _, program in people
    ]


def _readme(report: ExtractReport) -> str:
    """A short cover note for the recipient: what the files are and the de-identification rules."""
    rows = "\n".join(f"| {name} | {n} |" for name, n in report.rows.items())
    return f"""# peer-outcomes research extract

Row-level, de-identified data for analysis under a data-use agreement. Not for publication: anything
published from it must describe at least 11 people.

- Ids are random and new in every extract; they cannot be linked to the program's records or to another
  extract.
- Times are whole days since the participant's enrollment (mentors: since the mentor started); the only
  calendar detail is the year.
- Ages are top-coded at {AGE_TOP_CODE}. Site codes are the program's own.
- No follow-up reaches the data cutoff. For a person still enrolled (no exit) the cutoff minus their
  follow-up would give their enrollment date, so their follow-up ends 0 to {CUTOFF_WINDOW - 1} days before the
  cutoff (an offset fixed per person, the same in every extract of these data): their rows after that day
  are left out, and retention, relapse, competing-event and milestone times are censored there. Counts in
  participant_outcomes.csv (`n_attended`, `n_relapses`, rates) still cover the whole follow-up. What
  remains: such a person's enrollment date is known to within {CUTOFF_WINDOW} days, as it would be from a
  quarter.
- `{DICTIONARY}` describes every column of every file.

| file | rows |
|---|---|
{rows}
"""
