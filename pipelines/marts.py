"""Outcome marts: every outcome definition, once, as SQL over the core warehouse tables.

Each `pipelines/sql/marts/<mart>.sql` is one CTE chain ending in `select * from final`; its first line
states the definition (docs/outcomes.md explains each in plain words). `build_marts` runs them in a fixed
order (later marts read earlier ones) into schema `marts`, then evaluates the column tests declared in
`marts.yml`: a failed check fails the load, so bad marts are never published. The attendance ⋈ sessions
join that four marts start from is made once per build, as the TEMP table `mart_visits` (VISITS_SQL).
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import duckdb
import yaml

from peer_outcomes.pipelines.contract import ENTITIES
from peer_outcomes.pipelines.errors import UserError

SQL_DIR = files(__package__) / "sql" / "marts"  # package data: the same text after any install
SPEC = SQL_DIR / "marts.yml"

# Fixed build order: retention first (relapse, competing and dose read it), relapse_events before relapse
# (which counts its rows), participant_outcomes last.
MART_ORDER: tuple[str, ...] = (
    "retention",
    "relapse_events",
    "relapse",
    "competing",
    "milestones",
    "dose_weekly",
    "match_features",
    "attendance_weekly",
    "participant_outcomes",
)


# The one join every attendance mart starts from, made once per build (a TEMP table: never in the file).
# Only expected sessions (attended, no_show) are kept; each mart applies its own follow-up window.
VISITS_SQL = """create or replace temp table mart_visits as
    select a.participant_key, s.session_date, s.format, a.status
    from main.attendance as a
    join main.sessions as s using (session_key)
    where a.status in ('attended', 'no_show')"""


class MartCheckError(UserError):
    """The marts failed their declared tests; the load stops and the live warehouse is kept."""


def mart_sql(name: str) -> str:
    """The select statement that defines mart `name` (the text of its .sql file)."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def load_spec() -> dict[str, Any]:
    """The mart spec (marts.yml): every mart, its columns and their tests."""
    return yaml.safe_load(SPEC.read_text(encoding="utf-8"))


def build_marts(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create schema `marts` and every mart from the core tables and the one-row `settings` table.

    Raises MartCheckError when `settings` does not hold exactly one row or a marts.yml test fails.
    """
    (n_settings,) = con.execute("select count(*) from settings").fetchone()
    if n_settings != 1:
        raise MartCheckError(
            f"The settings table must hold exactly one row (as_of, gap_days); it holds {n_settings}."
        )
    con.execute("create schema if not exists marts")
    con.execute(VISITS_SQL)
    try:
        for name in MART_ORDER:
            con.execute(f"create or replace table marts.{name} as\n{mart_sql(name)}")
    finally:
        con.execute("drop table if exists temp.mart_visits")
    failures = check_marts(con)
    if failures:
        raise MartCheckError(
            f"The outcome marts failed {len(failures)} check(s), so the load was stopped: {'; '.join(failures)}."
        )


def _tests_sql(table: str, column: str | None, test: Any) -> tuple[str, str]:
    """SQL counting the rows that break one yml test, and the test's description."""
    if isinstance(test, dict):  # {unique: col} at table level, {accepted_values: [...]} at column level
        ((kind, arg),) = test.items()
    else:
        kind, arg = test, None
    if column is None and kind == "unique":
        cols = arg if isinstance(arg, list) else [arg]
        key = ", ".join(cols)
        return (
            f"select count(*) from (select {key} from {table} group by all having count(*) > 1)",
            f"{table} ({key}) is not unique",
        )
    if kind == "unique":
        return (
            f"select count(*) from (select {column} from {table} group by 1 having count(*) > 1)",
            f"{table}.{column} is not unique",
        )
    if kind == "expression":
        return f"select count(*) from {table} where not coalesce(({arg}), false)", f"{table} breaks `{arg}`"
    if kind == "not_null":
        return f"select count(*) from {table} where {column} is null", f"{table}.{column} has nulls"
    if kind == "accepted_values":
        values = ", ".join("'" + str(v).replace("'", "''") + "'" for v in arg)
        return (
            f"select count(*) from {table} where {column} is not null and {column}::varchar not in ({values})",
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
    for mart in load_spec()["marts"]:
        table = mart["name"]
        schema, name = table.split(".")
        built = [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_catalog = current_database()"
                " and table_schema = ? and table_name = ?"
                " order by ordinal_position",
                [schema, name],
            ).fetchall()
        ]
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
        for sql, description in checks:
            (n_bad,) = con.execute(sql).fetchone()
            if n_bad:
                failures.append(f"{description} ({n_bad} row(s))")
    return failures
