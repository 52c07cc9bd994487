"""The export contract: entities, columns, types, allowed values and natural keys.

This module is the single source of truth for what a program's export may contain; `docs/data-contract.md`
describes it in prose. Only the columns listed here (and covariates declared in a mapping) ever reach the
warehouse: an allowlist, never a blocklist (docs/privacy.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

CONTRACT_VERSION = "1.0"

Kind = Literal["text", "date", "int", "number", "bool", "enum", "id"]

GENDERS = ("female", "male", "nonbinary", "other", "unknown")
SUBSTANCES = ("alcohol", "opioids", "stimulants", "cannabis", "sedatives", "polysubstance", "other", "unknown")
REFERRALS = ("self", "treatment_program", "court", "hospital", "community", "other")
HOUSING = ("stable", "unstable", "homeless", "unknown")
END_REASONS = ("completed", "rematched", "participant_left", "mentor_left", "other")
FORMATS = ("one_on_one", "group", "online", "workshop")
ATTENDANCE_STATUSES = ("attended", "no_show", "cancelled", "excused")
USE_KINDS = ("lapse", "relapse")
USE_SOURCES = ("self_report", "test", "collateral", "other")
EXIT_REASONS = ("completed", "dropped_out", "transferred", "moved", "incarcerated", "deceased", "other")
GOAL_DOMAINS = ("recovery", "health", "housing", "employment", "education", "family", "legal", "other")
GOAL_STATUSES = ("open", "met", "revised", "abandoned")
CHECK_IN_MODES = ("in_person", "phone", "text", "video")
RESOURCE_TYPES = ("treatment", "mat", "detox", "mutual_aid", "housing", "employment", "legal", "health", "other")
REFERRAL_OUTCOMES = ("connected", "declined", "pending", "unknown")
INCIDENT_KINDS = ("boundary", "confidentiality", "safety", "conduct", "other")
SEVERITIES = ("low", "moderate", "high")

AGE_TOP_CODE = 90  # ages over 89 are stored as 90 (HIPAA safe-harbor style top-coding)


@dataclass(frozen=True)
class Column:
    """One contract column: its kind, whether it is required, and its rules."""

    name: str
    kind: Kind
    required: bool = False
    values: tuple[str, ...] = ()  # allowed values for kind == "enum"
    min: int | None = None
    max: int | None = None
    default: str | None = None  # value used when an optional enum is blank
    ref: str | None = None  # "entity.column" this id must exist in
    note: str = ""
    # A person id of another entity stored as that kind's keyed pseudonym (not as an integer key), so the
    # link survives even when the person's own row arrives in a later export: "participant" or "mentor".
    pseudonym: str | None = None
    # A planned date (a goal's target), not an event: it may lie after the data cutoff and in the future,
    # and never moves the default cutoff.
    planned: bool = False

    @property
    def stored_name(self) -> str:
        """The warehouse column: `*_id` of a pseudonymized id becomes `*_pid`."""
        return self.name[: -len("_id")] + "_pid" if self.pseudonym else self.name


@dataclass(frozen=True)
class Entity:
    """One export file: its columns and the natural key a corrected re-export upserts on."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required: bool = False
    note: str = ""
    # Columns that are read from the export only to derive a contract column, never stored.
    derived_from: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity(
            "participants",
            required=True,
            key=("participant_id",),
            note="one row per person enrolled",
            derived_from={"age_at_enrollment": ("date_of_birth", "birth_year")},
            columns=(
                Column("participant_id", "id", True, note="pseudonymized on load, never stored as given"),
                Column("site", "text", True),
                Column("enrolled_on", "date", True),
                Column("program_track", "text"),
                Column("age_at_enrollment", "int", min=12, max=110, note="or date_of_birth / birth_year"),
                Column("gender", "enum", values=GENDERS),
                Column("race_ethnicity", "text"),
                Column("primary_substance", "enum", values=SUBSTANCES),
                Column("referral_source", "enum", values=REFERRALS),
                Column("recovery_start_on", "date"),
                Column("prior_treatment_episodes", "int", min=0, max=200),
                Column("housing_at_intake", "enum", values=HOUSING),
                Column("employed_at_intake", "bool"),
            ),
        ),
        Entity(
            "mentors",
            key=("mentor_id",),
            note="peer mentors with lived experience",
            columns=(
                Column("mentor_id", "id", True, note="pseudonymized on load"),
                Column("site", "text", True),
                Column("started_on", "date", True),
                Column("recovery_start_on", "date"),
                Column("certified_on", "date"),
                Column("gender", "enum", values=GENDERS),
                Column("primary_substance", "enum", values=SUBSTANCES),
                Column(
                    "former_participant_id",
                    "id",
                    pseudonym="participant",
                    note="the participant this mentor once was; stored as that participant's pseudonym "
                    "(former_participant_pid), so the mentee-to-mentor link needs no identifier",
                ),
            ),
        ),
        Entity(
            "matches",
            key=("participant_id", "mentor_id", "matched_on"),
            note="mentor-mentee pairings, rematches included",
            columns=(
                Column("participant_id", "id", True, ref="participants.participant_id"),
                Column("mentor_id", "id", True, ref="mentors.mentor_id"),
                Column("matched_on", "date", True),
                Column("ended_on", "date"),
                Column("end_reason", "enum", values=END_REASONS),
            ),
        ),
        Entity(
            "sessions",
            key=("session_id",),
            note="one-on-one meetings, groups, online support, workshops and events",
            columns=(
                Column("session_id", "text", True),
                Column("site", "text", True),
                Column("session_date", "date", True, note="a datetime is reduced to its date"),
                Column("format", "enum", True, values=FORMATS),
                Column("mentor_id", "id", ref="mentors.mentor_id"),
                Column("duration_minutes", "int", min=1, max=1440),
                Column("topic", "text", note="a short code, never free-text notes"),
            ),
        ),
        Entity(
            "attendance",
            key=("session_id", "participant_id"),
            note="who was expected at which session",
            columns=(
                Column("session_id", "text", True, ref="sessions.session_id"),
                Column("participant_id", "id", True, ref="participants.participant_id"),
                Column("status", "enum", True, values=ATTENDANCE_STATUSES),
            ),
        ),
        Entity(
            "milestones",
            key=("participant_id", "milestone_days"),
            note="sobriety milestones reached",
            columns=(
                Column("participant_id", "id", True, ref="participants.participant_id"),
                Column("milestone_days", "int", True, min=1, max=36500),
                Column("achieved_on", "date", True),
            ),
        ),
        Entity(
            "substance_use",
            key=("participant_id", "event_on", "kind"),
            note="lapses and relapses after enrollment",
            columns=(
                Column("participant_id", "id", True, ref="participants.participant_id"),
                Column("event_on", "date", True),
                Column("kind", "enum", values=USE_KINDS, default="relapse"),
                Column("substance", "enum", values=SUBSTANCES),
                Column("source", "enum", values=USE_SOURCES),
            ),
        ),
        Entity(
            "exits",
            key=("participant_id",),
            note="leaving the program",
            columns=(
                Column("participant_id", "id", True, ref="participants.participant_id"),
                Column("exit_on", "date", True),
                Column("reason", "enum", True, values=EXIT_REASONS),
            ),
        ),
        Entity(
            "goals",
            key=("goal_id",),
            note="recovery goals a mentee sets, with their latest status; a free-text description is never loaded",
            columns=(
                Column("goal_id", "text", True, note="the program's goal record id"),
                Column("participant_id", "id", True, ref="participants.participant_id"),
                Column("mentor_id", "id", ref="mentors.mentor_id"),
                Column("domain", "enum", True, values=GOAL_DOMAINS),
                Column("set_on", "date", True),
                Column("target_on", "date", planned=True, note="not before set_on; a plan, so it may be after the cutoff"),
                Column("status", "enum", True, values=GOAL_STATUSES),
                Column("status_on", "date", True, note="when the status was last set; not before set_on"),
            ),
        ),
        Entity(
            "check_ins",
            key=("participant_id", "mentor_id", "checked_in_on", "mode"),
            note="short accountability contacts between a mentor and a mentee, distinct from sessions",
            columns=(
                Column("participant_id", "id", True, ref="participants.participant_id"),
                Column("mentor_id", "id", True, ref="mentors.mentor_id"),
                Column(
                    "checked_in_on",
                    "date",
                    True,
                    note="the draft's `on` (a SQL keyword every query would have to quote); not before enrollment",
                ),
                Column("mode", "enum", True, values=CHECK_IN_MODES),
                Column("reached", "bool", True, note="the mentee was reached"),
            ),
        ),
        Entity(
            "referrals",
            key=("referral_id",),
            note="resources a mentor shared: referrals to treatment, support, housing, work",
            columns=(
                Column("referral_id", "text", True, note="the program's referral record id"),
                Column("participant_id", "id", True, ref="participants.participant_id"),
                Column("mentor_id", "id", ref="mentors.mentor_id"),
                Column("made_on", "date", True, note="not before enrollment"),
                Column("resource_type", "enum", True, values=RESOURCE_TYPES),
                Column("outcome", "enum", True, values=REFERRAL_OUTCOMES),
                Column("connected_on", "date", note="not before made_on; only when outcome is connected"),
            ),
        ),
        Entity(
            "mentor_activity",
            key=("mentor_id", "month"),
            note="one row per mentor per month: supervision and training received, and whether active",
            columns=(
                Column("mentor_id", "id", True, ref="mentors.mentor_id"),
                Column(
                    "month",
                    "date",
                    True,
                    note="the first day of the month (`2025-03-01`; declare `%Y-%m` in mapping.yaml for `2025-03`)",
                ),
                Column("supervision_hours", "number", True, min=0, max=744),
                Column("training_hours", "number", True, min=0, max=744),
                Column("active", "bool", True, note="the mentor had mentees that month"),
            ),
        ),
        Entity(
            "incidents",
            key=("incident_id",),
            note="boundary, confidentiality, safety and conduct incidents involving a mentor; no narrative",
            columns=(
                Column("incident_id", "text", True, note="the program's incident record id"),
                Column("mentor_id", "id", True, ref="mentors.mentor_id"),
                Column("participant_id", "id", ref="participants.participant_id"),
                Column("occurred_on", "date", True, note="the draft's `on` (a SQL keyword)"),
                Column("kind", "enum", True, values=INCIDENT_KINDS),
                Column("severity", "enum", True, values=SEVERITIES),
            ),
        ),
    )
}

# The mentoring-practice entities (issue 15): optional files, loaded after the entities they refer to.
PRACTICE_ENTITIES = ("goals", "check_ins", "referrals", "mentor_activity", "incidents")

# Load order: an entity comes after every entity it references.
LOAD_ORDER: tuple[str, ...] = (
    "participants",
    "mentors",
    "matches",
    "sessions",
    "attendance",
    "milestones",
    "substance_use",
    "exits",
    *PRACTICE_ENTITIES,
)

# Column names that are direct identifiers. They are never loaded anyway (allowlist); this list only
# lets the load report say *why* a dropped column matters, and lets tests plant them.
IDENTIFIER_HINTS = (
    "name",
    "first_name",
    "last_name",
    "phone",
    "email",
    "address",
    "zip",
    "ssn",
    "notes",
    "date_of_birth",
    "birth_year",
    "medicaid_id",
    "description",
    "narrative",
)

# Code values (site, track, topic, ...) that a spreadsheet would run as a formula when a published CSV is
# opened (OWASP CSV injection), or that hold control characters, are never loaded (docs/privacy.md).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def unsafe_code(value: str) -> str | None:
    """Why a code value may not be loaded (a formula start or a control character), or None when it is fine."""
    if value.startswith(FORMULA_STARTS):
        return "begins with =, +, -, @, tab or carriage return, which a spreadsheet would run as a formula"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "holds a control character"
    return None
