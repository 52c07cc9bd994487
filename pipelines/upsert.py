"""Cross-table checks and the upsert of one staged entity, with its quarantine and its row counts.

After `validate.stage_sql` has typed and checked each row on its own, the checks that need other tables
run here on the rows still good: the data cutoff, references (to this export or to rows already in the
warehouse), nothing dated before enrollment, and duplicates of the natural key within the file (the first
row is kept). Only the few failing rows are materialised and marked. Then the good rows replace any rows
with the same natural key and are inserted; the rest go to the quarantine; rows read = rows loaded + rows
quarantined is asserted.
"""

from __future__ import annotations

import datetime as dt

from peer_outcomes.pipelines.contract import ENTITIES
from peer_outcomes.pipelines.idmaps import PERSONS, resolve_misses
from peer_outcomes.pipelines.quarantine import write_quarantine
from peer_outcomes.pipelines.readers import Source, settle_lines
from peer_outcomes.pipelines.report import FileReport
from peer_outcomes.pipelines.validate import REF_KEYS, Staging

LATE = "attendance"  # checked through its id maps (etl.py reads it last), not through joins


def final_columns(entity: str, st: Staging) -> list[str]:
    out = []
    for col in st.columns:
        if entity in PERSONS and col.name == f"{PERSONS[entity]}_id":
            out.append(f"{PERSONS[entity]}_pid")
        elif col.pseudonym:
            out.append(col.stored_name)
        elif col.name in REF_KEYS and (entity, col.name) != ("sessions", "session_id"):
            out.append(REF_KEYS[col.name])
        else:
            out.append(col.name)
    return out


def load_entity(
    con,
    entity: str,
    source: Source,
    st: Staging,
    as_of: dt.date,
    batch_id: str,
    write_q: bool,
    key: bytes,
    labels: dict[str, str],
    sha256: str,
    program: str,
) -> FileReport:
    """Run the cross-table checks on one staged entity, upsert its good rows, quarantine the rest.

    Rows are upserted on (program, natural key): only rows of `program` are ever replaced (etl.py).
    """
    table, checks, file = f"stg_{entity}", st.checks, source.file
    names = final_columns(entity, st)
    cols = {c.name for c in st.columns}
    post: list[tuple[int, str, str | None]] = []  # (check index, condition, raw value kept) in order
    joins: list[str] = []

    def check(column: str | None, reason: str, cond: str, value: str | None = None) -> None:
        post.append((checks.add(column, reason, keep_value=value is not None), cond, value))

    for c in st.columns:
        if c.kind == "date" and not c.planned:
            check(
                c.name,
                f"{c.name} is after the data cutoff {as_of}",
                f"s.{c.name} > date '{as_of}'",
                f"s.{c.name}",
            )
    for ref, kind in (("participant_id", "participant"), ("mentor_id", "mentor")):
        if ref not in cols or entity in PERSONS or entity == LATE:
            continue
        resolve_misses(con, table, kind, key, program)
        ref_file = labels.get(f"{kind}s", f"{kind}s (this export has no {kind}s file)")
        alias = kind[0]
        joins.append(f"left join {kind}s {alias} on {alias}.{kind}_key = s.{kind}_key")
        check(
            ref,
            f"{entity} refers to a {kind} that is not in {ref_file}",
            f"s._raw_{ref} is not null and s.{kind}_key is null",
        )
        check(
            ref,
            f"{entity} refers to a {kind} whose row in {ref_file} was not loaded (see its quarantine entry)",
            f"s.{kind}_key is not null and {alias}.{kind}_key is null",
        )
    if entity == LATE:  # the id maps carried the dates and loaded flags (final_maps): no joins needed
        resolve_misses(con, table, "participant", key, program, ", d_enrolled = t.enrolled_on")
        label = labels.get("participants", "participants (this export has no participants file)")
        check(
            "participant_id",
            f"attendance refers to a participant that is not in {label}",
            "s._raw_participant_id is not null and s.participant_key is null",
        )
        label = labels.get("sessions", "sessions (this export has no sessions file)")
        check(
            "session_id",
            f"attendance refers to a session that is not in {label}",
            "s._raw_session_id is not null and s.session_key is null",
        )
        check(  # staging compared the dates of ids found in the maps; these were found by pseudonym
            "session_id",
            "the session is dated before the participant's enrollment",
            "s._raw_participant_id is not null and s.d_session < s.d_enrolled",
        )
    if entity == "milestones":  # sobriety milestones count from recovery start, which may precede enrollment
        check(
            "achieved_on",
            "achieved_on is before the participant's recovery start (or enrollment when none)",
            "s.achieved_on < coalesce(p.recovery_start_on, p.enrolled_on)",
            "s.achieved_on",
        )
    if entity == "mentor_activity":
        check(
            "month",
            "month is before the month the mentor started",
            "s.month < date_trunc('month', m.started_on)",
            "s.month",
        )
    dated = {
        "substance_use": "event_on",
        "exits": "exit_on",
        "goals": "set_on",
        "check_ins": "checked_in_on",
        "referrals": "made_on",
    }
    if entity in dated:
        c = dated[entity]
        check(c, f"{c} is before the participant's enrollment", f"s.{c} < p.enrolled_on", f"s.{c}")

    keys = natural_key(entity)
    dup = checks.add(None, "duplicate of line {detail}")
    # Repeated natural keys are rare: count them first (attendance's two integer keys packed into one
    # bigint, cheaper to count), and find and join back the repeats only when there are any.
    packed = (
        f"(s.{keys[0]}::bigint << 32) | (s.{keys[1]}::bigint & 4294967295)"
        if entity == LATE
        else ", ".join(f"s.{k}" for k in keys)
    )
    n_keys, n_distinct = con.execute(
        f"select count(({packed})), count(distinct ({packed})) from {table} s where _p is null"
    ).fetchall()[0]
    dups = n_keys > n_distinct  # keys still unresolved (NULL) are left out of both counts
    if dups:
        con.execute(
            f"""create or replace temp table dups_{entity} as select {", ".join(keys)}, min(_line) as first_line
                from {table} where _p is null group by all having count(*) > 1"""
        )
        joins.append(f"left join dups_{entity} d on {' and '.join(f's.{k} = d.{k}' for k in keys)}")
    # LATE's checks above all concern ids missed by the maps: the other rows can only be duplicates
    prefilter = (
        "and (s._raw_participant_id is not null or s._raw_session_id is not null"
        + (" or d.first_line is not null)" if dups else ")")
        if entity == LATE
        else ""
    )
    problem = " ".join(f"when {c} then {i}" for i, c, _ in post)
    problem += f" when s._line <> d.first_line then {dup}" if dups else ""
    kept = " ".join(f"when {c} then cast({v} as varchar)" for _, c, v in post if v is not None)
    # Only the few rows failing these checks are materialised, then marked: the big table is not rewritten.
    con.execute(
        f"""create or replace temp table post_{entity} as
            select * from (
                select s._line, case {problem or "when false then null"} end as _p1,
                       case {kept or "when false then null"} end as _v1,
                       {"cast(d.first_line as varchar)" if dups else "cast(null as varchar)"} as _d1
                from {table} s {" ".join(joins)} where s._p is null {prefilter})
            where _p1 is not null"""
    )
    if con.execute(f"select count(*) from post_{entity}").fetchall()[0][0]:
        con.execute(
            f"""update {table} set _p = b._p1, _bad_value = b._v1, _detail = case when b._p1 = {dup} then b._d1 end
                from post_{entity} b where {table}._line = b._line"""
        )

    select = ", ".join(names) + f", '{program}' as program"  # a checked code (config.PROGRAM_CODE)
    carried = con.execute(f"select count(*) from {entity}").fetchall()[0][0]  # rows of the live warehouse
    if entity in PERSONS:
        pkey = f"{PERSONS[entity]}_key"
        source_sql = f"select k.key as {pkey}, {select} from {table} s join keys_{entity} k on k.pid = s.{PERSONS[entity]}_pid where s._p is null"
    elif entity == "sessions" and not carried:  # a first load: keys are the lines, no lookup to keep apart
        source_sql = (
            f"select cast(s._line - 1 as integer) as session_key, {select} from {table} s where s._p is null"
        )
    elif entity == "sessions":  # known ids keep their key; new ones get max key + line (unique, no sort)
        con.execute(  # materialised before the delete below removes the rows whose keys are reused
            f"""create or replace temp table new_sessions as
                select cast(coalesce(o.session_key, base.m + s._line - 1) as integer) as session_key,
                       {", ".join("s." + n for n in names)}, '{program}' as program
                from {table} s left join sessions o on o.session_id = s.session_id and o.program = '{program}'
                     cross join (select coalesce(max(session_key), 0) as m from sessions) base
                where s._p is null"""
        )
        source_sql = "select * from new_sessions"
    else:
        source_sql = f"select {select} from {table} where _p is null"
    good = f"(select {', '.join(keys)} from {table} where _p is null)"
    on_final = " and ".join(f"{entity}.{k} = g.{k}" for k in keys) + f" and {entity}.program = '{program}'"
    if carried:  # rows carried over: upsert
        con.execute(f"delete from {entity} using {good} g where {on_final}")
    loaded = con.execute(f"insert into {entity} by name {source_sql}").fetchall()[0][0]

    n_staged, n_bad = con.execute(f"select count(*), count(_p) from {table}").fetchall()[0]
    if n_bad:
        settle_lines(con, source, table, "_p is not null", f"_p = {dup}")
    rows_read = n_staged + len(source.unreadable)
    quarantined = n_bad + len(source.unreadable)
    if write_q:
        written = write_quarantine(con, batch_id, entity, file.name, table, checks, source.unreadable)
        if written != quarantined:
            raise RuntimeError(f"{file.name}: {quarantined} rows rejected but {written} quarantined")
    if rows_read != loaded + quarantined:
        raise RuntimeError(
            f"{file.name}: {rows_read} rows read but {loaded} loaded + {quarantined} quarantined"
        )
    return FileReport(entity, file.name, sha256, rows_read, loaded, quarantined, tuple(st.dropped))


def natural_key(entity: str) -> list[str]:
    """The contract's natural key in warehouse columns (pseudonyms and integer keys for ids)."""
    out = []
    for k in ENTITIES[entity].key:
        if entity in PERSONS:
            out.append(f"{PERSONS[entity]}_pid")
        elif k in REF_KEYS and entity != "sessions":
            out.append(REF_KEYS[k])
        else:
            out.append(k)
    return out
