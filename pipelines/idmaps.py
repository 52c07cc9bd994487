"""Id maps and integer keys: how raw ids become stable warehouse keys without ever being stored.

Participants and mentors get a keyed pseudonym (pseudonym.py) and an integer key, reused when the pseudonym
is already in the warehouse and otherwise the next free one, in file order. Facts carry the integer keys:
they are looked up through TEMP maps (raw id → key) built from this export's files; ids that do not match
exactly (other spacing or case, or people known only from earlier loads) are normalised and pseudonymized
one by one and found by their pseudonym. The maps live only in the load's connection, never in the file.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from peer_outcomes.pipelines.pseudonym import pseudonymize_many

PERSONS = {"participants": "participant", "mentors": "mentor"}  # entity → pseudonym kind


def register(con: duckdb.DuckDBPyConnection, table: str, raw: list[str], values: list) -> None:
    """A temp table (raw_id, value) from two Python lists."""
    con.register("_arrow", pa.table({"raw_id": pa.array(raw, pa.string()), "value": pa.array(values)}))
    con.execute(f"create or replace temp table {table} as select * from _arrow")
    con.unregister("_arrow")


def ensure_map(con: duckdb.DuckDBPyConnection, ref: str) -> None:
    """An empty id map when the referenced entity's file is not in this export (misses resolve later)."""
    if ref != "session_id":  # the session map is built from the loaded sessions (final_maps)
        con.execute(f"create temp table if not exists map_{ref} (raw_id varchar, key integer)")


def final_maps(con: duckdb.DuckDBPyConnection, program: str) -> None:
    """Give the participant and session id maps the loaded rows' dates and a loaded flag (program's sessions)."""
    ensure_map(con, "participant_id")
    con.execute(
        """create or replace temp table map_participant_id as
           select m.raw_id, m.key, p.enrolled_on, p.participant_key is not null as loaded
           from map_participant_id m left join participants p on p.participant_key = m.key"""
    )
    quarantined = ""  # sessions of this export that were not loaded: "not loaded" rather than "not in"
    if con.execute("select count(*) from duckdb_tables() where table_name = 'stg_sessions'").fetchall()[0][0]:
        quarantined = """union all select distinct session_id, -1, null, false from stg_sessions
                         where _p is not null and session_id is not null
                           and session_id not in (select session_id from sessions where program = $program)"""
    con.execute(
        f"""create or replace temp table map_session_id as
            select session_id as raw_id, session_key as key, session_date as on_date, true as loaded from sessions
            where program = $program
            {quarantined}""",
        {"program": program},
    )


def assign_person_keys(con: duckdb.DuckDBPyConnection, entity: str, program: str) -> None:
    """Give each person of a staged file (whose rows carry their pseudonym, see etl._stage) a stable integer
    key: reused when the pseudonym is already the program's, else the next free one in the warehouse (keys
    are unique across programs, so facts join to people without the program), in file order."""
    kind = PERSONS[entity]
    table, pid, pkey = f"stg_{entity}", f"{kind}_pid", f"{kind}_key"
    con.execute(
        f"""create or replace temp table keys_{entity} as
            with ids as (select {pid} as pid, min(_line) as first_line from {table}
                         where {pid} is not null group by 1),
                 base as (select coalesce(max({pkey}), 0) as m from {entity})
            select ids.pid, cast(coalesce(t.{pkey}, base.m + row_number() over (
                       partition by t.{pkey} is null order by ids.first_line)) as integer) as key
            from ids cross join base left join {entity} t on t.{pid} = ids.pid and t.program = $program""",
        {"program": program},
    )
    con.execute(
        f"""create or replace temp table map_{kind}_id as
            select distinct s._raw_{kind}_id as raw_id, k.key from {table} s join keys_{entity} k on k.pid = s.{pid}"""
    )


def resolve_misses(con, table: str, kind: str, key: bytes, program: str, also: str = "") -> None:
    """Ids not matched exactly (other spacing or case, or people known only from earlier loads of the program)."""
    raws = [
        r[0]
        for r in con.execute(
            f"select distinct _raw_{kind}_id from {table} where _raw_{kind}_id is not null and {kind}_key is null"
        ).fetchall()
    ]
    if not raws:
        return
    register(con, "_misses", raws, pseudonymize_many(raws, kind, key))
    con.execute(
        f"""update {table} set {kind}_key = t.{kind}_key{also} from _misses m join {kind}s t on t.{kind}_pid = m.value
            where {table}._raw_{kind}_id = m.raw_id and {table}.{kind}_key is null and t.program = $program""",
        {"program": program},
    )
