"""Outcome marts: every outcome definition, once, as SQL models over the core warehouse tables.

A model is one SQL file, one CTE chain ending in `select * from final`, whose first line states the
definition (docs/outcomes.md explains each in plain words). As in dbt's jaffle_shop, layers:

- `sql/intermediate/<name>.sql`: shared building blocks (the follow-up window, the sessions inside it),
  built into the in-memory database `intermediate` attached for the build only. They never reach the
  warehouse file, so the published file holds only what marts.yml documents and checks.
- `sql/marts/<name>.sql`: the outcome marts, built into schema `marts` and checked against `marts.yml`; a
  failed check fails the load, so bad marts are never published.
- `sql/aggregates/<name>.sql`: sums over the marts per filter cell (program x site x track x enrollment
  month), built into schema `aggregates` after the marts, whole or for the programs whose marts were
  rebuilt (`build_marts`; seconds at 100,000 people): a page's filter is a union of cells, so its counts are a sum over a small table, not a
  scan of participant-week rows. Spark builds them from the same SQL (pipelines/spark.py).

A model names the models it reads as `intermediate.<name>` or `marts.<name>`; the build order is derived
from those references (graphlib), never typed by hand. Settings (as_of, gap_days, milestone_days) come from
the one-row `settings` table the load wrote, so the warehouse says how its outcomes were defined.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Collection, Mapping
from graphlib import CycleError, TopologicalSorter
from importlib.resources import files
from pathlib import Path
from typing import Any

import duckdb
import yaml

from peer_outcomes.pipelines.contract import ENTITIES
from peer_outcomes.pipelines.errors import UserError

SQL_ROOT = files(__package__) / "sql"  # package data: the same text after any install
LAYERS = ("intermediate", "marts")  # the folders under sql/ holding models, and the names they are built as
AGGREGATES = "aggregates"  # sql/aggregates/<name>.sql, built as aggregates.<name> after the marts
SQL_DIR = SQL_ROOT / "marts"
SPEC = SQL_DIR / "marts.yml"

_REFERENCE = re.compile(r"\b(" + "|".join(LAYERS) + r")\.([a-z_][a-z0-9_]*)", re.IGNORECASE)
_COMMENT = re.compile(r"--[^\n]*")
_CORE = re.compile(r"\bmain\.([a-z_][a-z0-9_]*)", re.IGNORECASE)  # the core tables a model reads

BUILDS = "mart_builds"  # main.mart_builds: each program's fingerprint of each mart (`fingerprints`)
BUILD_LOGIC = "per-program marts 1"  # part of every fingerprint: change it when the build itself changes
PREVIOUS = "previous_marts"  # the live warehouse, attached read-only while a load builds the new one
SCOPED = "scoped"  # in-memory database: views of the core tables restricted to the programs being rebuilt


class MartCheckError(UserError):
    """The marts failed their declared tests; the load stops and the live warehouse is kept."""


class ModelGraphError(UserError):
    """The SQL models reference a model that does not exist, or each other in a cycle."""


def models() -> dict[str, str]:
    """Every model's select statement by its built name: {"intermediate.visits": sql, "marts.retention": sql}."""
    return {
        f"{layer}.{path.name.removesuffix('.sql')}": path.read_text(encoding="utf-8")
        for layer in LAYERS
        for path in sorted((SQL_ROOT / layer).iterdir(), key=lambda p: p.name)
        if path.name.endswith(".sql")
    }


def references(sql: str) -> set[str]:
    """The models a select statement reads: its `intermediate.<name>` and `marts.<name>` outside comments."""
    return {f"{layer.lower()}.{name.lower()}" for layer, name in _REFERENCE.findall(_COMMENT.sub("", sql))}


def build_order(sqls: Mapping[str, str]) -> list[str]:
    """The models in an order that builds each after every model it references.

    Raises ModelGraphError, in one sentence, when a model references one that does not exist or when models
    reference each other in a cycle.
    """
    graph: dict[str, set[str]] = {}
    for name in sorted(sqls):
        refs = references(sqls[name])
        missing = sorted(refs - sqls.keys())
        if missing:
            raise ModelGraphError(
                f"The model {name} reads {missing[0]}, which is not a model in pipelines/sql."
            )
        graph[name] = refs
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        cycle = sorted(set(exc.args[1]))
        if len(cycle) == 1:
            raise ModelGraphError(f"The model {cycle[0]} reads itself, so it can never be built.") from None
        raise ModelGraphError(
            f"The models {', '.join(cycle)} read each other in a cycle, so none of them can be built."
        ) from None


def mart_names() -> list[str]:
    """The published marts (schema `marts`), in build order, without the schema."""
    return [n.removeprefix("marts.") for n in build_order(models()) if n.startswith("marts.")]


def load_spec() -> dict[str, Any]:
    """The mart spec (marts.yml): every mart, its columns and their tests."""
    return yaml.load(SPEC.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: 10x faster


def build_models(
    con: duckdb.DuckDBPyConnection, sqls: Mapping[str, str], cpu: dict[str, float] | None = None
) -> dict[str, float]:
    """Build `sqls` in their derived order (intermediate models in memory, marts in the file), unchecked.

    Returns the seconds each model took, and fills `cpu` (when given) with the CPU seconds of this process,
    DuckDB's threads included: steadier than wall time on a shared machine (benchmarks/bench_marts.py prints
    both). The in-memory database `intermediate` is attached for the build and detached after it, even on error.
    """
    order = build_order(sqls)
    seconds: dict[str, float] = {}
    con.execute("create schema if not exists marts")
    con.execute("attach ':memory:' as intermediate")
    try:
        for name in order:
            start, start_cpu = time.perf_counter(), time.process_time()
            con.execute(f"create or replace table {name} as\n{sqls[name]}")
            seconds[name] = time.perf_counter() - start
            if cpu is not None:
                cpu[name] = time.process_time() - start_cpu
    finally:
        con.execute("detach intermediate")
    return seconds


def build_marts(
    con: duckdb.DuckDBPyConnection, previous: Path | None = None, in_place: bool = False
) -> dict[str, list[str]]:
    """Build schema `marts` for what changed since the warehouse `previous`; return {program: marts rebuilt}.

    Every mart row belongs to one program, and a program's rows depend only on its own core rows and its
    row of `programs` (each model joins people to facts by keys unique across the warehouse). So a load of
    program B rebuilds B's rows only: the models run over views of the core tables restricted to B (the
    SQL stays written once), and every other program's rows are copied from `previous` as they were. What
    each program's rows of each mart were built from is stored in `mart_builds` (`fingerprints`): rows
    whose program's data and settings and whose mart SQL did not change are copied, not rebuilt, so an
    unchanged load rebuilds nothing and a changed mart definition rebuilds that mart (and what reads it).
    Without a `previous` warehouse that records its builds, every mart is built whole, in place. With
    `in_place`, the file being built is a byte copy of `previous` (warehouse.copy_live), so the other programs'
    rows are there already: the stale programs' rows are deleted and rebuilt, nothing else is copied. The
    aggregates follow the marts: one with a `program` column (all of them today) is rebuilt for the stale
    programs only, one without it would be built whole whenever any of its rows may have changed.

    Raises MartCheckError when `settings` does not hold exactly one row or a marts.yml test fails.
    """
    (n_settings,) = con.execute("select count(*) from settings").fetchone()
    if n_settings != 1:
        raise MartCheckError(
            "The settings table must hold exactly one row (as_of, gap_days, milestone_days); "
            f"it holds {n_settings}."
        )
    sqls, aggs = models(), aggregate_models()
    now = fingerprints(con, {**sqls, **aggs})
    attached = previous is not None and _attach_previous(con, previous)
    try:
        built = _previous_fingerprints(con) if attached else {}
        stale = sorted(key for key, fingerprint in now.items() if built.get(key) != fingerprint)
        whole = not attached or len(stale) == len(now) or not _splittable(con, sqls)
        if whole:
            stale = sorted(now)
            build_models(con, sqls)
            failures = check_marts(con)
        else:
            failures = _build_stale(con, sqls, aggs, stale, {program for program, _ in now}, in_place)
    finally:
        if attached:
            con.execute(f"detach {PREVIOUS}")
    if failures:
        raise MartCheckError(
            f"The outcome marts failed {len(failures)} check(s), so the load was stopped: {'; '.join(failures)}."
        )
    if in_place:  # a mart or aggregate that is no longer a model leaves with the copy it came in
        for schema, table in con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = current_database()"
            " and schema_name in ('marts', ?)", [AGGREGATES]
        ).fetchall():
            if f"{schema}.{table}" not in sqls and f"{schema}.{table}" not in aggs:
                con.execute(f'drop table "{schema}"."{table}"')
    con.execute(f"create or replace table main.{BUILDS} (program varchar, mart varchar, fingerprint varchar)")
    con.executemany(f"insert into main.{BUILDS} values (?, ?, ?)", [[*key, f] for key, f in sorted(now.items())])
    if whole:
        build_aggregates(con)
    rebuilt: dict[str, list[str]] = {}
    for program, mart in (key for key in stale if key[1].startswith("marts.")):
        rebuilt.setdefault(program, []).append(mart.removeprefix("marts."))
    return rebuilt


def aggregate_models() -> dict[str, str]:
    """Each aggregate's select statement by built name: {"aggregates.week_counts": sql}."""
    folder = SQL_ROOT / AGGREGATES
    return {f"{AGGREGATES}.{p.name.removesuffix('.sql')}": p.read_text(encoding="utf-8")
            for p in sorted(folder.iterdir(), key=lambda p: p.name) if p.name.endswith(".sql")}  # fmt: skip


def build_aggregates(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """(Re)build schema `aggregates` whole from the marts in the file; return the seconds each took.

    After a whole build of the marts; a load of some programs builds them in `_build_stale` (per program when
    an aggregate has a `program` column, else whole).
    """
    con.execute(f"create schema if not exists {AGGREGATES}")
    seconds = {}
    for name, sql in aggregate_models().items():
        start = time.perf_counter()
        con.execute(f"create or replace table {name} as\n{sql}")
        seconds[name] = time.perf_counter() - start
    return seconds


def fingerprints(con: duckdb.DuckDBPyConnection, sqls: Mapping[str, str]) -> dict[tuple[str, str], str]:
    """What each program's rows of each mart are built from, as a hash: {(program, mart): sha256 hex}.

    A mart's fingerprint covers its SQL and every model it reads (transitively), marts.yml, the columns of the core
    tables they read (a covariate added to `participants` reaches participant_outcomes), the program's
    settings (its row of `programs` but the load time and name, and its matched tracks) and its data: the
    load batches that changed its rows (status "loaded"; an unchanged load writes "unchanged" and loads
    nothing).
    """
    closure: dict[str, set[str]] = {}
    for name in build_order(sqls):
        closure[name] = {name}.union(*(closure[ref] for ref in references(sqls[name])))
    tables = sorted(_CORE.findall(_COMMENT.sub("", "\n".join(sqls.values()))))
    schema = con.execute(
        "select coalesce(string_agg(table_name || '.' || column_name || ' ' || data_type, ', '"
        " order by table_name, column_index), '') from duckdb_columns()"
        " where database_name = current_database() and schema_name = 'main' and list_contains(?, table_name)",
        [sorted({t.lower() for t in tables})],
    ).fetchone()[0]
    states = dict(
        con.execute(
            """select p.program, concat_ws('|', p.as_of, p.gap_days, p.milestone_days::varchar, p.supervision_hours,
                   p.key_id, t.tracks, b.batches)
               from programs as p
               left join (select program, string_agg(program_track, ',' order by program_track) as tracks
                          from matched_tracks group by program) as t using (program)
               left join (select program, string_agg(distinct batch_id, ',' order by batch_id) as batches
                          from load_batches where status = 'loaded' group by program) as b using (program)"""
        ).fetchall()
    )
    checks = SPEC.read_text(encoding="utf-8")  # a new check must see every row, copied ones too
    out = {}
    for mart in (n for n in sqls if n.startswith(("marts.", f"{AGGREGATES}."))):
        definition = "\n".join(f"{name}\n{sqls[name]}" for name in sorted(closure[mart]))
        for program, state in states.items():
            text = "\n".join((BUILD_LOGIC, checks, schema, definition, state))
            out[(program, mart)] = hashlib.sha256(text.encode()).hexdigest()
    return out


def _attach_previous(con: duckdb.DuckDBPyConnection, previous: Path) -> bool:
    """ATTACH the live warehouse read-only as PREVIOUS when it records what its marts were built from, and whose."""
    if not Path(previous).exists():
        return False
    con.execute(f"attach '{str(previous).replace(chr(39), chr(39) * 2)}' as {PREVIOUS} (read_only)")
    (n_columns,) = con.execute(  # a warehouse of another version may lack them: then every mart is built
        "select count(*) from duckdb_columns() where database_name = ? and schema_name = 'main' and ("
        " (table_name = ? and column_name in ('program', 'mart', 'fingerprint'))"
        " or (table_name = 'participants' and column_name = 'program'))",
        [PREVIOUS, BUILDS],
    ).fetchone()
    if n_columns != 4:
        con.execute(f"detach {PREVIOUS}")
    return n_columns == 4


def _previous_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """What PREVIOUS's mart rows were built from; none when a mart there lacks a column marts.yml lists (a
    file an older version built, or altered since), so that a load rebuilds it rather than copy what is missing."""
    have: dict[str, set[str]] = {}
    for table, column in con.execute(
        "select 'marts.' || table_name, column_name from duckdb_columns() where database_name = ? and schema_name = 'marts'",
        [PREVIOUS],
    ).fetchall():
        have.setdefault(table, set()).add(column)
    if any(not set(m.get("columns", {})) <= have.get(m["name"], set()) for m in load_spec()["marts"]):
        return {}
    if not all(_aggregate_current(con, name, sql) for name, sql in aggregate_models().items()):
        return {}
    rows = con.execute(f"select program, mart, fingerprint from {PREVIOUS}.main.{BUILDS}").fetchall()
    return {(program, mart): fingerprint for program, mart, fingerprint in rows}


def _aggregate_current(con: duckdb.DuckDBPyConnection, name: str, sql: str) -> bool:
    """Whether PREVIOUS holds aggregate `name` with every column its SQL gives today (bound there, no rows read)."""
    schema, table = name.split(".")
    held = {c for (c,) in con.execute(
        "select column_name from duckdb_columns() where database_name = ? and schema_name = ? and table_name = ?",
        [PREVIOUS, schema, table],
    ).fetchall()}  # fmt: skip
    warehouse = con.execute("select current_database()").fetchone()[0]
    con.execute(f"use {PREVIOUS}")
    try:
        columns = {d[0] for d in con.execute(f"select * from (\n{sql}\n) limit 0").description}
    except duckdb.Error:
        return False
    finally:
        con.execute(f'use "{warehouse}"')
    return bool(held) and columns <= held


def _splittable(con: duckdb.DuckDBPyConnection, sqls: Mapping[str, str]) -> bool:
    """Whether PREVIOUS holds every mart, each saying whose its rows are: a `program` or `participant_key` column."""
    whose = dict(
        con.execute(
            "select table_name, bool_or(column_name in ('program', 'participant_key')) from duckdb_columns()"
            " where database_name = ? and schema_name = 'marts' group by all",
            [PREVIOUS],
        ).fetchall()
    )
    return all(whose.get(name.removeprefix("marts.")) for name in sqls if name.startswith("marts."))


def _build_stale(
    con: duckdb.DuckDBPyConnection,
    sqls: Mapping[str, str],
    aggs: Mapping[str, str],
    stale: list[tuple[str, str]],
    programs: set[str],
    in_place: bool = False,
) -> list[str]:
    """Rebuild the `stale` (program, mart) rows, and copy every other row of every mart from PREVIOUS (or, `in_place`
    in a byte copy of PREVIOUS, keep them where they are and delete the stale ones).

    The stale marts and the models they read run in the in-memory database SCOPED, whose `main` holds views
    of the core tables restricted to the stale programs (so `main.attendance` in a model reads theirs only;
    a table without a `program` column, such as `settings`, is seen whole).
    A stale mart is then PREVIOUS's rows of the other programs plus these; a mart without a `program` column
    (dose_weekly, ...) tells its program by `participant_key`, unique across the warehouse. Only the rebuilt
    rows are checked (marts.yml), before anything is copied: the copied ones passed when they were built,
    and every unique key in marts.yml holds a program, participant_key or mentor_key, which no two programs
    share. Returns the checks' failures.

    An aggregate (`aggs`) with a `program` column whose stale rows are the stale marts' programs' is built
    in SCOPED from their marts, and joins PREVIOUS's rows of the other programs; any other stale aggregate
    is built whole from the marts once they are all in the file; the rest are copied.
    """
    warehouse = con.execute("select current_database()").fetchone()[0]
    stale_aggs = [key for key in stale if key[1] in aggs]
    stale = [key for key in stale if key[1] not in aggs]
    redo = sorted({program for program, _ in stale})
    codes = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in redo) + "]"
    order = build_order(sqls)
    needed = {mart for _, mart in stale}
    for name in reversed(order):  # every model a stale mart reads, directly or not
        if name in needed:
            needed |= references(sqls[name])
    kept = {
        f"{schema}.{table}": has_program
        for schema, table, has_program in con.execute(
            "select schema_name, table_name, bool_or(column_name = 'program') from duckdb_columns()"
            " where database_name = ? and schema_name in ('marts', ?) group by all",
            [PREVIOUS, AGGREGATES],
        ).fetchall()
    }
    per_program = [  # aggregates rebuilt for the stale programs from SCOPED's marts
        name
        for name in aggs
        if kept.get(name)
        and {program for program, a in stale_aggs if a == name} == set(redo)
        and references(aggs[name]) <= needed
    ]
    if stale:
        con.execute(f"attach ':memory:' as {SCOPED}")
    try:
        if stale:
            for table, has_program in con.execute(  # those without a program (settings) as they are
                "select table_name, bool_or(column_name = 'program') from duckdb_columns() where database_name = ?"
                " and schema_name = 'main' group by all order by all",
                [warehouse],
            ).fetchall():
                con.execute(
                    f'create view {SCOPED}.main."{table}" as select * from "{warehouse}".main."{table}"'
                    + (f" where list_contains({codes}, program)" if has_program else "")
                )
            con.execute(f"use {SCOPED}")
            try:
                build_models(con, {name: sqls[name] for name in order if name in needed})
                failures = check_marts(con, only={mart for _, mart in stale})
                if per_program and not failures:
                    con.execute(f"create schema {AGGREGATES}")
                    for name in per_program:
                        con.execute(f"create table {name} as\n{aggs[name]}")
            finally:
                con.execute(f'use "{warehouse}"')
            if failures:
                return failures
        con.execute("create schema if not exists marts")
        for name in (n for n in order if n.startswith("marts.")):
            redone = {program for program, m in stale if m == name}
            if not redone:
                if not in_place:
                    con.execute(f"create or replace table {name} as select * from {PREVIOUS}.{name}")
            elif redone >= programs:  # every program's rows new (its columns may be too)
                con.execute(f"create or replace table {name} as select * from {SCOPED}.{name}")
            else:
                others = (
                    f"not list_contains({codes}, program)"
                    if kept[name]
                    else f"participant_key in (select participant_key from {PREVIOUS}.main.participants"
                    f" where not list_contains({codes}, program))"
                )
                _keep_only(con, name, others, in_place)
                con.execute(f"insert into {name} by name select * from {SCOPED}.{name}")
        con.execute(f"create schema if not exists {AGGREGATES}")
        redone_aggs = {name for _, name in stale_aggs}
        for name, sql in aggs.items():
            if name in per_program:
                _keep_only(con, name, f"not list_contains({codes}, program)", in_place)
                con.execute(f"insert into {name} by name select * from {SCOPED}.{name}")
            elif name in redone_aggs or name not in kept:
                con.execute(f"create or replace table {name} as\n{sql}")
            elif not in_place:
                con.execute(f"create or replace table {name} as select * from {PREVIOUS}.{name}")
    finally:
        if stale:
            con.execute(f"detach {SCOPED}")
    return []


def _keep_only(con: duckdb.DuckDBPyConnection, name: str, others: str, in_place: bool) -> None:
    """Leave in table `name` PREVIOUS's rows meeting `others` (the programs not rebuilt), in their order: by deleting
    the rest from the byte copy (`in_place`), else by copying those rows from PREVIOUS."""
    if in_place:
        con.execute(f"delete from {name} where ({others}) is not true")
    else:
        con.execute(f"create or replace table {name} as select * from {PREVIOUS}.{name} where {others}")


def _tests_sql(table: str, column: str | None, test: Any) -> tuple[str, str]:
    """A select-list expression counting the rows of `table` that break one yml test, and its description.

    Row tests are `count(*) filter (where <broken>)`, so all of a table's tests run in one scan of it.
    """
    if isinstance(test, dict):  # {unique: col} at table level, {accepted_values: [...]} at column level
        ((kind, arg),) = test.items()
    else:
        kind, arg = test, None
    if kind == "unique":
        cols = [column] if column else arg if isinstance(arg, list) else [arg]
        key = ", ".join(cols)
        return (
            f"(select count(*) from (select {key} from {table} group by all having count(*) > 1))",
            f"{table} ({key}) is not unique" if column is None else f"{table}.{column} is not unique",
        )
    if kind == "expression":
        return f"count(*) filter (where not coalesce(({arg}), false))", f"{table} breaks `{arg}`"
    if kind == "not_null":
        return f"count(*) filter (where {column} is null)", f"{table}.{column} has nulls"
    if kind == "accepted_values":
        values = ", ".join("'" + str(v).replace("'", "''") + "'" for v in arg)
        return (
            f"count(*) filter (where {column} is not null and {column}::varchar not in ({values}))",
            f"{table}.{column} has values outside its accepted values",
        )
    raise ValueError(f"unknown marts.yml test {kind!r} on {table}")


def _covariate_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Columns the ETL appended to `participants` for covariates declared in the mapping."""
    core = set(ENTITIES["participants"].column_names) | {"participant_key", "participant_pid"}
    cols = con.execute(
        "select column_name from information_schema.columns where table_catalog = current_database()"
        " and table_schema = 'main' and table_name = 'participants'"
    ).fetchall()
    return [c for (c,) in cols if c not in core]


def check_marts(con: duckdb.DuckDBPyConnection, only: Collection[str] | None = None) -> list[str]:
    """Evaluate every test in marts.yml (of the marts named in `only`, when given) and return one sentence per
    failure (empty when all pass).

    Also fails when a documented column is missing from the built mart, or a built column is undocumented.
    """
    failures: list[str] = []
    columns: dict[str, list[str]] = {}
    for schema, name, column in con.execute(
        "select table_schema, table_name, column_name from information_schema.columns"
        " where table_catalog = current_database() order by ordinal_position"
    ).fetchall():
        columns.setdefault(f"{schema}.{name}", []).append(column)
    for mart in load_spec()["marts"]:
        table = mart["name"]
        if only is not None and table not in only:
            continue
        built = columns.get(table, [])
        if not built:
            failures.append(f"{table} was not built")
            continue
        documented = list(mart.get("columns", {}))
        missing = [c for c in documented if c not in built]
        extra = [c for c in built if c not in documented]
        if table == "marts.participant_outcomes":  # covariates declared in the mapping ride along
            extra = [c for c in extra if c not in _covariate_columns(con)]
        if missing:
            failures.append(f"{table} lacks documented column(s) {', '.join(missing)}")
        if extra:
            failures.append(f"{table} has undocumented column(s) {', '.join(extra)}")
        checks = [_tests_sql(table, None, t) for t in mart.get("tests", [])]
        for column, spec in mart.get("columns", {}).items():
            if column in missing:
                continue
            spec = spec or {}
            checks += [_tests_sql(table, column, t) for t in spec.get("tests", [])]
            if "accepted_values" in spec:
                checks.append(_tests_sql(table, column, {"accepted_values": spec["accepted_values"]}))
        if not checks:
            continue
        counts = con.execute(f"select {', '.join(sql for sql, _ in checks)} from {table}").fetchone()
        failures += [
            f"{description} ({n_bad} row(s))" for (_, description), n_bad in zip(checks, counts, strict=True) if n_bad
        ]
    return failures
