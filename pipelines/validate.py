"""Row checks as SQL: every value parsed from text in one pass, every failure named, nothing coerced.

`stage_sql` builds one `create temp table` statement that reads an entity's text rows once, types every
column, joins the id maps (raw id → integer key) and marks each row with the first problem found (`_p`, an
index into `Checks`), or NULL when the row is good. Checks that need other tables (references, dates before
enrollment, the data cutoff, duplicates) run afterwards in etl.py and mark the few rows that fail them.

Conventions: blank (after trimming) means missing; enums are case-insensitive after the mapping's recodes;
integers are whole numbers, written "12" or, as spreadsheets and Parquet doubles give them, "12.0"; dates are
ISO `YYYY-MM-DD` (a time part is dropped) unless mapping.yaml declares a format. Code values (text columns
such as site and track) that a spreadsheet would run as a formula, or that hold control characters, are
quarantined (contract.unsafe_code). Bounds from the mapping are query parameters (`Staging.params`), never
SQL text. Values of identifier columns (and anything derived from a birth date) are never copied into the
quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from peer_outcomes.pipelines.contract import AGE_TOP_CODE, ENTITIES, FORMULA_STARTS, Column, unsafe_code
from peer_outcomes.pipelines.errors import UserError
from peer_outcomes.pipelines.mapping import Mapping, derived_sources
from peer_outcomes.pipelines.readers import INTEGERS, Source

MAX_TEXT = 100  # text columns are short codes; longer values are likely free-text notes
MIN_DATE = "1900-01-01"
# Dates within one row that may not come before another of its dates: (later, earlier)
DATE_ORDER = {
    "matches": (("ended_on", "matched_on"),),
    "goals": (("target_on", "set_on"), ("status_on", "set_on")),
    "referrals": (("connected_on", "made_on"),),
}
REF_KEYS = {"participant_id": "participant_key", "mentor_id": "mentor_key", "session_id": "session_key"}
# Contract kinds a Parquet column is taken as stored when its type matches (readers.NATIVE_TYPES): the value
# the text path would parse from its text is the stored value itself, so every check and reason is the same.
TYPED = {"date": ("DATE",), "int": INTEGERS, "bool": ("BOOLEAN",)}
# read as text in participants: the age is derived from them together (_age_raw_expr), from their text
AGE_INPUTS = {"age_at_enrollment", "date_of_birth", "birth_year", "enrolled_on"}


class ColumnError(UserError):
    """A file lacks a required column, or two of its columns mean the same thing."""


@dataclass
class Check:
    """One way a row can fail: the column blamed, the plain reason, whether the raw value may be kept."""

    column: str | None
    reason: str
    keep_value: bool = False


@dataclass
class Checks:
    """The numbered checks of one entity; `_p` in the staged table points into this list (1-based)."""

    items: list[Check] = field(default_factory=list)

    def add(self, column: str | None, reason: str, keep_value: bool = False) -> int:
        self.items.append(Check(column, reason, keep_value))
        return len(self.items)

    def rows(self) -> list[tuple[int, str | None, str, bool]]:
        return [(i, c.column, c.reason, c.keep_value) for i, c in enumerate(self.items, start=1)]


@dataclass
class Staging:
    """What staging one entity produced: the SQL, its checks, the columns used and dropped."""

    sql: str
    checks: Checks
    columns: list[Column]
    dropped: list[str]
    present: set[str]
    params: dict[str, int] = field(default_factory=dict)  # named parameters of `sql` ($min_x, $max_x)


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def resolve_columns(entity: str, source: Source, mapping: Mapping) -> tuple[dict[str, str], list[str]]:
    """Map contract names to source columns (c0..); list the headers that are dropped (allowlist)."""
    wanted = {c.name for c in mapping.columns_of(entity)} | derived_sources(entity)
    used: dict[str, str] = {}
    dropped: list[str] = []
    for header, name in zip(source.headers, source.names, strict=True):
        target = mapping.rename(entity, header)
        if target not in wanted:
            dropped.append(header.strip() or "(blank header)")
            continue
        if target in used:
            raise ColumnError(
                f"{source.file.name} has two columns that mean {target}; rename one in mapping.yaml."
            )
        used[target] = name
    for col in ENTITIES[entity].columns:
        if col.required and col.name not in used:
            where = (
                f" in its first sheet, '{source.sheet}' (only the first sheet is read)"
                if source.sheet is not None
                else ""
            )
            raise ColumnError(
                f"{source.file.name} has no {col.name} column{where}, which is required; "
                f"add it or rename the right column in mapping.yaml."
            )
    return used, dropped


def text_value(column: str) -> str:
    """A text cell as validation sees it: outer spaces trimmed, blank = NULL.

    Only values with a space in them are trimmed: most have none, and trim() costs a third of the pass.
    """
    return f"nullif(case when contains({column}, ' ') then trim({column}) else {column} end, '')"


def _date_expr(s: str, fmt: str | None) -> str:
    if fmt:
        return f"cast(try_strptime({s}, {_q(fmt)}) as date)"
    return f"try_cast({s} as date)"


def _int_ok(s: str) -> str:
    """Whether text is a whole number: up to 12 digits, optionally with a zero fraction ("30.0")."""
    return f"regexp_full_match({s}, '[+-]?[0-9]{{1,12}}(\\.0*)?')"


def _number_ok(s: str) -> str:
    """Whether text is a plain decimal number: up to 9 digits, an optional fraction ("1.5", "2", ".5")."""
    return f"regexp_full_match({s}, '[+]?([0-9]{{1,9}}(\\.[0-9]*)?|\\.[0-9]+)')"


def _int_value(s: str) -> str:
    """The whole number in a text that passed `_int_ok`."""
    return f"cast(split_part({s}, '.', 1) as bigint)"


def _int_parse(s: str) -> str:
    """The whole number in a text, NULL unless `_int_ok` takes it: the same value and verdict, cheaper.

    Most values are written the way DuckDB writes a BIGINT ("60", "-3"): when the cast gives back the very
    text, the value has at most 12 digits and no sign, fraction or other form, it is `_int_ok`'s value
    itself. Only the others go through the regex ("+7", "007", "30.0" are taken; "1e3", "0x10", "1_000",
    "12.5", "٣", which DuckDB's cast takes or rounds, are not): the cast alone is lenient.
    """
    n = f"try_cast({s} as bigint)"
    return (
        f"case when cast({n} as varchar) = {s} and {n} between -{MAX_INT} and {MAX_INT} then {n} "
        f"when {_int_ok(s)} then {_int_value(s)} end"
    )


_RE2_ESCAPES = {"-": "\\-", "\t": "\\t", "\r": "\\r"}
_FORMULA = "^[" + "".join(_RE2_ESCAPES.get(c, c) for c in FORMULA_STARTS) + "]"  # RE2 syntax
_CONTROL = "[\\x00-\\x1f\\x7f]"
_UNSAFE = f"{_FORMULA}|{_CONTROL}"  # either: one regex per value, the two above only for the rare match


def stage_sql(
    entity: str,
    source: Source,
    mapping: Mapping,
    table: str,
    maps: dict[str, str],
    labels: dict[str, str] | None = None,
) -> Staging:
    """The one-pass typing and checking statement for one entity (see the module docstring).

    Four steps in one statement: `src` trims the text, `typed` parses every value once (t_*) and looks up
    the id maps (k_*), `checked` finds the first failing check, and the final select names the columns.
    `maps` names the temp tables (raw_id, key) for the references this entity may resolve now, and for a
    person's own id the table (raw_id, value) of its pseudonyms; `labels` maps entity → file name for
    reasons that name another file.
    """
    used, dropped = resolve_columns(entity, source, mapping)
    labels = labels or {}
    columns = list(mapping.columns_of(entity))
    formats = mapping.date_formats.get(entity, {})
    checks = Checks()
    native = _native_columns(entity, source, mapping, used)
    raw = [
        f"cast(n{c[1:]} as {'bigint' if native[n] in INTEGERS else native[n]}) as n_{n}"
        if n in native
        else f"{text_value(c)} as s_{n}"
        for n, c in sorted(used.items())
    ]
    typed: list[str] = []  # t_* / k_* expressions over s_*, each computed once
    final: list[str] = []  # the staged columns
    conds: list[tuple[int, str, str | None]] = []  # (check index, condition, raw value kept)
    params: dict[str, int] = {}

    def s(name: str) -> str:
        """A column's text (a stored Parquet value's text is made only where used: a kept bad value)."""
        if name in native:
            return f"cast(n_{name} as varchar)"
        return f"s_{name}" if name in used else "cast(null as varchar)"

    def given(name: str) -> str:
        """What `is null` tests for a value being given: the stored value itself when typed."""
        return f"n_{name}" if name in native else s(name)

    if source.formulas:  # workbook cells that are formulas without a saved value (readers.read_xlsx)
        raw.append("_nf")
        for name, c in sorted(used.items()):
            reason = f"{name} is a formula without a saved value; open the workbook in Excel, save it and export again"
            conds.append((checks.add(name, reason), f"contains(_nf, ',{c},')", None))

    for col in columns:
        v, t = s(col.name), f"t_{col.name}"
        if col.required:
            conds.append((checks.add(col.name, f"{col.name} is missing"), f"{given(col.name)} is null", None))
        if col.pseudonym:  # another entity's person id, stored as its keyed pseudonym (mentors.former_participant_id)
            value = f"{maps[col.name]}.value" if col.name in used and col.name in maps else "cast(null as varchar)"
            typed.append(f"{value} as p_{col.name}")
            final.append(f"p_{col.name} as {col.stored_name}")
            continue
        if col.kind == "id" or col.name in REF_KEYS and entity != "sessions":
            own = entity.rstrip("s") + "_id" == col.name  # participants.participant_id, mentors.mentor_id
            if own:  # its pseudonym comes from `maps` (pseudonym.pseudonym_table), when given
                if col.name in maps:
                    typed.append(f"{maps[col.name]}.value as p_{col.name}")
                    final.append(f"p_{col.name} as {entity.rstrip('s')}_pid")
                final.append(f"{v} as _raw_{col.name}")
            elif col.name in used:
                typed.append(f"{maps[col.name]}.key as k_{col.name}")
                final.append(f"k_{col.name} as {REF_KEYS[col.name]}")
                final.append(f"case when k_{col.name} is null then {v} end as _raw_{col.name}")
            else:
                final.append(
                    f"cast(null as integer) as {REF_KEYS[col.name]}, cast(null as varchar) as _raw_{col.name}"
                )
            continue
        if col.kind == "text":
            long = f"{col.name} is longer than {MAX_TEXT} characters; it should be a short code"
            conds.append((checks.add(col.name, long), f"length({v}) > {MAX_TEXT}", None))
            if not col.name.endswith("_id"):  # a code that may be published (a record id never is)
                formula, control = unsafe_code("="), unsafe_code("\x00")
                # a third of staging sessions went to these two regexes per code; most values match neither
                typed.append(f"regexp_matches({v}, {_q(_UNSAFE)}) as u_{col.name}")
                conds.append((checks.add(col.name, f"{col.name} {formula}"), f"u_{col.name} and regexp_matches({v}, {_q(_FORMULA)})", None))
                conds.append((checks.add(col.name, f"{col.name} {control}"), f"u_{col.name} and regexp_matches({v}, {_q(_CONTROL)})", None))
            final.append(f"{v} as {col.name}")
            continue
        if col.kind == "date":
            typed.append(f"{given(col.name) if col.name in native else _date_expr(v, formats.get(col.name))} as {t}")
            expected = formats.get(col.name, "YYYY-MM-DD")
            conds.append(
                (
                    checks.add(col.name, f"{col.name} is not a date (expected {expected})", True),
                    "false" if col.name in native else f"{v} is not null and {t} is null",
                    v,
                )
            )
            conds.append(
                (checks.add(col.name, f"{col.name} is before 1900", True), f"{t} < date '{MIN_DATE}'", v)
            )
            if not col.planned:
                conds.append(
                    (checks.add(col.name, f"{col.name} is in the future", True), f"{t} > current_date", v)
                )
        elif col.kind == "int" and col.name == "age_at_enrollment":
            typed.append(f"{_age_raw_expr(used, formats)} as {t}")
            conds.extend(_age_checks(checks, used, formats, t))
            final.append(
                f"cast(case when {t} > 89 then {AGE_TOP_CODE} else {t} end as smallint) as {col.name}"
            )
            continue
        elif col.kind == "int":
            if col.name in native:  # as `_int_ok` would take its text: at most 12 digits
                n = given(col.name)
                typed.append(f"case when {n} between -{MAX_INT} and {MAX_INT} then {n} end as {t}")
            else:
                typed.append(f"{_int_parse(v)} as {t}")
            conds.append(
                (
                    checks.add(col.name, f"{col.name} is not a whole number", True),
                    f"{given(col.name)} is not null and {t} is null",
                    v,
                )
            )
            low, high = f"$min_{col.name}", f"$max_{col.name}"
            if col.min is not None:
                params[low[1:]] = int(col.min)
            if col.max is not None:
                params[high[1:]] = int(col.max)
            if col.min is not None and col.max is not None:
                rule, bad = f"must be between {col.min} and {col.max}", f"{t} < {low} or {t} > {high}"
            elif col.min is not None:
                rule, bad = f"must be at least {col.min}", f"{t} < {low}"
            elif col.max is not None:
                rule, bad = f"must be at most {col.max}", f"{t} > {high}"
            else:
                rule = bad = ""
            if bad:
                conds.append((checks.add(col.name, f"{col.name} {rule}", True), bad, v))
        elif col.kind == "number":  # hours and the like: a decimal written plainly ("1.5"), never "1,5"
            typed.append(f"case when {_number_ok(v)} then cast({v} as double) end as {t}")
            conds.append(
                (
                    checks.add(col.name, f"{col.name} is not a number", True),
                    f"{v} is not null and {t} is null",
                    v,
                )
            )
            params[f"min_{col.name}"], params[f"max_{col.name}"] = int(col.min or 0), int(col.max or 0)
            conds.append(
                (
                    checks.add(col.name, f"{col.name} must be between {col.min} and {col.max}", True),
                    f"{t} < $min_{col.name} or {t} > $max_{col.name}",
                    v,
                )
            )
        elif col.kind == "bool":
            recode = _recode(mapping.recodes(entity, col.name), f"lower({v})")
            if col.name in native:
                typed.append(f"{given(col.name)} as {t}")
            else:
                parsed = (
                    f"case when {recode} in ('true','yes','y','1','t') then true "
                    f"when {recode} in ('false','no','n','0','f') then false end"
                )
                if not mapping.recodes(entity, col.name):  # 'true' and 'false' as written skip lower() and the lists
                    parsed = f"case {v} when 'true' then true when 'false' then false else {parsed} end"
                typed.append(f"{parsed} as {t}")
            conds.append(
                (
                    checks.add(col.name, f"{col.name} is not yes/no (true/false, yes/no, 1/0)", True),
                    "false" if col.name in native else f"{v} is not null and {t} is null",
                    v,
                )
            )
        elif col.kind == "enum":
            code = _recode(mapping.recodes(entity, col.name), f"lower({v})")
            typed.append(f"coalesce({code}, {_q(col.default)}) as {t}" if col.default else f"{code} as {t}")
            allowed = ", ".join(_q(x) for x in col.values)
            conds.append(
                (
                    checks.add(col.name, f"{col.name} is not one of {', '.join(col.values)}", True),
                    f"{t} not in ({allowed})",
                    v,
                )
            )
        final.append(f"{t} as {col.name}")

    if entity == "attendance":  # the id maps carry loaded flags and dates (idmaps.final_maps)
        ms, mp_ = maps["session_id"], maps["participant_id"]
        typed.append(f"{ms}.on_date as d_session, {ms}.loaded as ok_session")
        typed.append(f"{mp_}.enrolled_on as d_enrolled, {mp_}.loaded as ok_participant")
        # kept only for the rows whose participant the map missed (upsert.py resolves them by pseudonym and
        # compares the dates then); the other rows were fully checked here, and a narrow table is cheap
        final.append(
            "case when k_participant_id is null then d_session end as d_session, "
            "cast(null as date) as d_enrolled"
        )
        for kind in ("participant", "session"):
            label = labels.get(f"{kind}s", f"{kind}s (this export has no {kind}s file)")
            reason = f"attendance refers to a {kind} whose row in {label} was not loaded (see its quarantine entry)"
            conds.append((checks.add(f"{kind}_id", reason), f"not ok_{kind}", None))
        reason = "the session is dated before the participant's enrollment"
        conds.append((checks.add("session_id", reason), "d_session < d_enrolled", None))
    for later, earlier in DATE_ORDER.get(entity, ()):
        conds.append(
            (
                checks.add(later, f"{later} is before {earlier}", True),
                f"t_{later} < t_{earlier}",
                s(later),
            )
        )
    if entity == "referrals":
        reason = "connected_on is given but outcome is not connected"
        conds.append((checks.add("connected_on", reason, True), "t_connected_on is not null and t_outcome <> 'connected'", s("connected_on")))
    if entity == "mentor_activity":
        reason = "month is not the first day of a month (write 2025-03-01, or declare %Y-%m in mapping.yaml)"
        conds.append((checks.add("month", reason, True), "day(t_month) <> 1", s("month")))

    problem = " ".join(f"when {c} then {i}" for i, c, _ in conds if c != "false")
    relation = source.typed if native else source.relation
    kept = " ".join(f"when {i} then left({val}, {MAX_TEXT})" for i, _, val in conds if val is not None)
    joins = "".join(
        f" left join {m} on {m}.raw_id = s_{ref}"
        for ref, m in maps.items()
        if ref in used and ref in {c.name for c in columns}
    )
    sql = (
        f"create or replace temp table {table} as "
        f"with src as (select _line, {', '.join(raw) or 'null as s__'} from {relation}), "
        f"typed as (select src.*{''.join(', ' + x for x in typed)} from src{joins}), "
        f"checked as (select *, case {problem or 'when false then 0'} end as _p from typed) "
        f"select _line, {', '.join(final)}, _p, "
        f"case _p {kept or 'when 0 then null'} end as _bad_value, cast(null as varchar) as _detail "
        f"from checked"
    )
    return Staging(sql, checks, columns, dropped, set(used), params)


MAX_INT = 10**12 - 1  # `_int_ok`: up to 12 digits


def _native_columns(entity: str, source: Source, mapping: Mapping, used: dict[str, str]) -> dict[str, str]:
    """The contract columns staged from a Parquet column as stored (name → its type; see TYPED).

    Only where the text path would give the stored value back unchanged: no date format or recodes declared
    in mapping.yaml (they apply to text), and not the participants' columns the age is derived from.
    """
    if not source.native:
        return {}
    out = {}
    for col in mapping.columns_of(entity):
        dtype = source.native.get(used.get(col.name, ""))
        if dtype is None or dtype not in TYPED.get(col.kind, ()) or col.pseudonym:
            continue
        if col.kind == "date" and col.name in mapping.date_formats.get(entity, {}):
            continue
        if col.kind == "bool" and mapping.recodes(entity, col.name):
            continue
        if entity == "participants" and col.name in AGE_INPUTS:
            continue
        out[col.name] = dtype
    return out


def _recode(recodes: dict[str, str], expr: str) -> str:
    if not recodes:
        return expr
    whens = " ".join(f"when {_q(k)} then {_q(v)}" for k, v in recodes.items())
    return f"(case {expr} {whens} else {expr} end)"


def _age_sources(used: dict[str, str], formats: dict[str, str]) -> tuple[str, str, str, str]:
    given = "s_age_at_enrollment" if "age_at_enrollment" in used else "cast(null as varchar)"
    dob_raw = "s_date_of_birth" if "date_of_birth" in used else "cast(null as varchar)"
    year_raw = "s_birth_year" if "birth_year" in used else "cast(null as varchar)"
    dob = _date_expr(dob_raw, formats.get("date_of_birth"))
    return given, dob_raw, dob, year_raw


def _age_raw_expr(used: dict[str, str], formats: dict[str, str]) -> str:
    given, _, dob, year_raw = _age_sources(used, formats)
    enrolled = _date_expr("s_enrolled_on", formats.get("enrolled_on"))
    return (
        f"case when {given} is not null then (case when {_int_ok(given)} then {_int_value(given)} end) "
        f"when {dob} is not null then date_sub('year', {dob}, {enrolled}) "
        f"when {_int_ok(year_raw)} then year({enrolled}) - {_int_value(year_raw)} end"
    )


def _age_checks(
    checks: Checks, used: dict[str, str], formats: dict[str, str], age: str
) -> list[tuple[int, str, str | None]]:
    """Checks of the age (given, or derived from date_of_birth / birth_year; `age` is the parsed value)."""
    given, dob_raw, dob, year_raw = _age_sources(used, formats)
    col = ENTITIES["participants"].column("age_at_enrollment")
    return [
        (
            checks.add("age_at_enrollment", "age_at_enrollment is not a whole number", True),
            f"{given} is not null and not {_int_ok(given)}",
            given,
        ),
        (
            checks.add("date_of_birth", "date_of_birth is not a date"),
            f"{given} is null and {dob_raw} is not null and {dob} is null",
            None,
        ),
        (
            checks.add("birth_year", "birth_year is not a year"),
            f"{given} is null and {dob_raw} is null and {year_raw} is not null and not {_int_ok(year_raw)}",
            None,
        ),
        (
            checks.add("age_at_enrollment", f"age_at_enrollment must be between {col.min} and {col.max}"),
            f"{age} < {col.min} or {age} > {col.max}",
            None,
        ),
    ]
