"""Outcome marts: every outcome definition, once, as SQL models over the core warehouse tables.

A model is one SQL file, one CTE chain ending in `select * from final`, whose first line states the
definition (docs/outcomes.md explains each in plain words). As in dbt's jaffle_shop, two layers:

- `sql/intermediate/<name>.sql`: shared building blocks (the follow-up window, the sessions inside it),
  built into the in-memory database `intermediate` attached for the build only. They never reach the
  warehouse file, so the published file holds only what marts.yml documents and checks.
- `sql/marts/<name>.sql`: the outcome marts, built into schema `marts` and checked against `marts.yml`; a
  failed check fails the load, so bad marts are never published.

A model names the models it reads as `intermediate.<name>` or `marts.<name>`; the build order is derived
from those references (graphlib), never typed by hand. Settings (as_of, gap_days, milestone_days) come from
the one-row `settings` table the load wrote, so the warehouse says how its outcomes were defined.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from graphlib import CycleError, TopologicalSorter
from importlib.resources import files
from typing import Any

import duckdb
import yaml

from peer_outcomes.pipelines.contract import ENTITIES
from peer_outcomes.pipelines.errors import UserError

SQL_ROOT = files(__package__) / "sql"  # package data: the same text after any install
LAYERS = ("intermediate", "marts")  # the folders under sql/ holding models, and the names they are built as
SQL_DIR = SQL_ROOT / "marts"
SPEC = SQL_DIR / "marts.yml"

_REFERENCE = re.compile(r"\b(" + "|".join(LAYERS) + r")\.([a-z_][a-z0-9_]*)", re.IGNORECASE)
_COMMENT = re.compile(r"--[^\n]*")


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


def build_marts(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create schema `marts` and every mart from the core tables and the one-row `settings` table.

    Raises MartCheckError when `settings` does not hold exactly one row or a marts.yml test fails.
    """
    (n_settings,) = con.execute("select count(*) from settings").fetchone()
    if n_settings != 1:
        raise MartCheckError(
            "The settings table must hold exactly one row (as_of, gap_days, milestone_days); "
            f"it holds {n_settings}."
        )
    build_models(con, models())
    failures = check_marts(con)
    if failures:
        raise MartCheckError(
            f"The outcome marts failed {len(failures)} check(s), so the load was stopped: {'; '.join(failures)}."
        )


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


def check_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Evaluate every test in marts.yml and return one sentence per failure (empty when all pass).

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
