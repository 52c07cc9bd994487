"""The only door to the warehouse file: short read-only connections, the data version, the atomic swap.

DuckDB allows one writing process or many readers per file, never both. The ETL therefore never writes
the live file: it builds a new one beside it and swaps it in with `os.replace` (atomic on POSIX). Readers
open read-only per query and close at once, so an open reader never blocks a load and a new connection
sees the new file (docs/architecture.md).
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from peer_outcomes.pipelines.errors import UserError

if TYPE_CHECKING:  # DuckDB imports pandas itself for `.df()`; a check that reads rows need not (pack_check)
    import pandas as pd


class WarehouseError(UserError):
    """A problem with the warehouse file that the user can fix; the message is one plain sentence."""


_held = threading.local()  # this thread's open reader per warehouse path (`reading`)


@contextmanager
def reading(db: str | os.PathLike[str]) -> Iterator[None]:
    """Keep one read-only connection to `db` open for a batch of reads in this thread, closed after.

    Inside, `connect_readonly(db)` hands out a cursor of it instead of opening the file again: an open
    costs ~25 ms of CPU, and the evidence pack makes about 70 reads. Every read sees one snapshot; a load
    swapping in a new file meanwhile is seen by the next batch.
    """
    held = getattr(_held, "cons", None)
    if held is None:
        held = _held.cons = {}
    with connect_readonly(db) as con:  # a cursor when already held further up this thread
        path = str(Path(db).resolve())
        if path in held:
            yield
            return
        held[path] = con
        try:
            yield
        finally:
            del held[path]


@contextmanager
def connect_readonly(db: str | os.PathLike[str]) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse read-only for one unit of work and always close it.

    Whatever `db` points at (a CSV, a folder, /proc, another application's or an empty DuckDB file), the
    answer is a warehouse or one sentence: the file must open as DuckDB, hold the ETL's `settings` and the marts
    this version reads (a warehouse an older version built asks for a new load).
    """
    path = Path(db)
    held = getattr(_held, "cons", {}).get(str(path.resolve())) if path.exists() else None
    if held is not None:
        with held.cursor() as cursor:
            yield cursor
        return
    if not path.exists():
        raise WarehouseError(f"No warehouse at {path}: run `peer-outcomes etl EXPORT_DIR --db {path}` first.")
    if path.is_dir():
        raise WarehouseError(f"The warehouse path {path} is a folder, not a warehouse file.")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:  # its messages vary by what the file is; none is for a coordinator
        if "lock" in str(exc).lower():
            raise WarehouseError(f"The warehouse {path} is locked by another process; try again shortly.") from None
        raise WarehouseError(f"The warehouse {path} could not be opened: it is not a DuckDB file.") from None
    try:
        kind = warehouse_kind(con)
        if kind != "warehouse":
            raise WarehouseError(
                f"The DuckDB file {path} is empty: run `peer-outcomes etl EXPORT_DIR --db {path}` first."
                if kind == "empty"
                else f"The DuckDB file {path} is not a peer-outcomes warehouse (it has no load settings)."
            )
        if not _built_by_this_version(con, path):
            raise WarehouseError(
                f"The warehouse {path} was built by an older version of peer-outcomes: run `peer-outcomes etl "
                f"EXPORT_DIR --db {path}` again."
            )
        yield con
    finally:
        con.close()


@functools.cache
def _mart_columns() -> dict[str, frozenset[str]]:
    """Every mart and the columns this version builds into it (marts.yml)."""
    from peer_outcomes.pipelines.marts import load_spec

    return {m["name"]: frozenset(m.get("columns", {})) for m in load_spec()["marts"]}


@functools.cache
def _aggregates() -> dict[str, str]:
    from peer_outcomes.pipelines.marts import aggregate_models

    return aggregate_models()


def _aggregate_current(con: duckdb.DuckDBPyConnection, name: str, sql: str, have: dict[str, set[str]]) -> bool:
    """Whether aggregate `name` is in the file with the columns its SQL gives today (binding it, no rows read)."""
    if name not in have:
        return False
    try:
        columns = {d[0] for d in con.execute(f"select * from (\n{sql}\n) limit 0").description}
    except duckdb.Error:
        return False
    return columns <= have[name]


_checked: dict[tuple[str, int, int, int], bool] = {}  # file identity (path, inode, mtime, size) -> current?


def _built_by_this_version(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """Whether the warehouse holds every mart, mart column and aggregate this version reads (a file with no marts at all
    is not judged: the ETL always builds them); checked once per file, which a `stat` identifies."""
    st = path.stat()
    key = (str(path.resolve()), st.st_ino, st.st_mtime_ns, st.st_size)
    if key not in _checked:
        have: dict[str, set[str]] = {}
        for table, column in con.execute(
            "select schema_name || '.' || table_name, column_name from duckdb_columns() "
            "where database_name = current_database()"
        ).fetchall():
            have.setdefault(table, set()).add(column)
        if len(_checked) > 64:
            _checked.clear()
        built = not any(t.startswith("marts.") for t in have) or (
            all(cols <= have.get(name, set()) for name, cols in _mart_columns().items())
            and all(_aggregate_current(con, name, sql, have) for name, sql in _aggregates().items())
        )
        _checked[key] = built
    return _checked[key]


def warehouse_kind(con: duckdb.DuckDBPyConnection, database: str | None = None) -> str:
    """"warehouse" (the ETL's settings are there), "empty" (no tables at all) or "other" (someone else's)."""
    database = database or con.execute("select current_database()").fetchall()[0][0]
    names = {
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() where database_name = ? and schema_name = 'main'", [database]
        ).fetchall()
    }
    return "warehouse" if "settings" in names else "empty" if not names else "other"


def query(db: str | os.PathLike[str], sql: str, params: list | dict | None = None) -> pd.DataFrame:
    """Run one read-only query and return a DataFrame (a connection per call, closed at once)."""
    with connect_readonly(db) as con:
        return con.execute(sql, params or []).df()


def data_version(db: str | os.PathLike[str]) -> str:
    """An id that changes whenever a load changes the data: the key for every cache."""
    path = Path(db)
    if not path.exists():
        return "missing"
    with connect_readonly(path) as con:
        row = con.execute("select data_version, as_of from settings").fetchone()
    return f"{row[0]}:{row[1]}" if row else "empty"


def swap_in(new: str | os.PathLike[str], current: str | os.PathLike[str]) -> None:
    """Replace the live warehouse with a freshly built, checkpointed and closed file, atomically."""
    new_path, current_path = Path(new), Path(current)
    wal = new_path.with_name(new_path.name + ".wal")
    if wal.exists():  # a closed, checkpointed file has no WAL; one here means the build did not finish
        raise WarehouseError(f"The new warehouse {new_path} was not checkpointed; the live one was kept.")
    current_path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(new_path, current_path)


def copy_live(current: str | os.PathLike[str], new: str | os.PathLike[str], schema_sql: str) -> bool:
    """Start the `new` file as a byte copy of the live warehouse `current`, when its tables are the ones
    `schema_sql` creates (a prefix of each table's columns, covariates appended after); False, `new` unwritten,
    otherwise.

    A load carries every program's rows over into the file it builds. Copying the file's bytes costs a read and
    a write of it; carrying the rows over with INSERT ... SELECT decompressed and compressed every program's
    rows again (most of the CPU of loading 300 people beside 100,000: benchmarks/bench_programs.py). The live
    file is only read. A file of another shape (another version's, or altered by hand), one with a WAL beside
    it (not checkpointed) or one that is not a warehouse is carried over row by row (etl._carry_over), which
    adds and orders columns as this version does, or refused there in one sentence.
    """
    current, new = Path(current), Path(new)
    if not current.is_file() or current.with_name(current.name + ".wal").exists():
        return False
    try:
        with duckdb.connect() as con:
            con.execute(schema_sql)
            con.execute(f"attach '{str(current).replace(chr(39), chr(39) * 2)}' as live (read_only)")
            try:
                same = _same_tables(con)
            finally:
                con.execute("detach live")
    except duckdb.Error:
        return False
    if same:
        shutil.copyfile(current, new)  # copy_file_range/sendfile: the kernel copies, nothing is decoded
    return same


def _same_tables(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether database `live` holds exactly the tables and views of this connection's schema (`memory`), each
    with the same leading columns (name, type, default, nullability) and constraints, plus the marts' own
    tables; anything else there means a row-by-row carry-over."""
    objects = """select schema_name, table_name, 'table' from duckdb_tables() where database_name = ?
                 union all select schema_name, view_name, 'view' from duckdb_views() where database_name = ?
                 and not internal"""
    fresh = set(con.execute(objects, ["memory", "memory"]).fetchall())
    live = set(con.execute(objects, ["live", "live"]).fetchall())
    extra = {(s, t) for s, t, _ in live - fresh}
    if not fresh <= live or any(s not in ("marts", "aggregates") and (s, t) != ("main", "mart_builds") for s, t in extra):
        return False
    columns = """select table_name, list((column_name, data_type, column_default, is_nullable) order by column_index)
                 from duckdb_columns() where database_name = ? and schema_name = 'main' group by all"""
    have = dict(con.execute(columns, ["live"]).fetchall())
    for table, cols in con.execute(columns, ["memory"]).fetchall():
        if have.get(table, [])[: len(cols)] != cols:
            return False
    constraints = """select table_name, constraint_type, constraint_text, constraint_column_names from duckdb_constraints()
                     where database_name = ? and schema_name = 'main' and table_name in (
                         select table_name from duckdb_tables() where database_name = 'memory')"""
    return sorted(con.execute(constraints, ["memory"]).fetchall()) == sorted(con.execute(constraints, ["live"]).fetchall())
