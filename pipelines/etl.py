"""The load: export folder → validated, pseudonymized rows in a new warehouse file, swapped in atomically.

read → check → pseudonymize → load → marts → swap (docs/data-contract.md, docs/privacy.md):

1. A new file is built next to the live one (`<db>.building-<pid>`); the live file is only ever replaced
   whole by `warehouse.swap_in`, so a crash or a kill leaves it byte-identical and readers keep their
   snapshot. One load at a time (a lock file beside the warehouse). SIGTERM or SIGINT stops a load cleanly
   (`_stoppable`): the building file, its spill folder and the lock are removed.
2. The live warehouse's rows are carried over (a byte copy of its file, warehouse.copy_live; row by row from
   it ATTACHed read-only when it has another shape), then the export is upserted on each
   entity's natural key (contract `Entity.key`): a corrected row replaces the old one.
3. Entity by entity, each file is read, typed and checked in one SQL pass (validate.py), cross-checked and
   loaded (upsert.py), then its raw and staged rows are dropped, so at most one large entity is staged at a
   time (docs/scale.md). A CSV or workbook is read as text by a background connection into the attached
   in-memory database `scratch` while the file before it is checked; Parquet is read where it lies, never
   copied. Raw ids become keyed pseudonyms and stable integer keys (idmaps.py), whose map lives in the
   warehouse tables themselves. Raw values only ever sit in memory (`scratch` and TEMP tables, and DuckDB's
   spill folder, removed with the building file), never in the warehouse file.
4. Bad rows go to the quarantine; rows read = rows loaded + rows quarantined is checked for every file.
5. `settings` gets as_of (given, else the latest date in the export, never earlier than the previous
   cutoff), gap_days, the milestone days (config), the key id and the data version; the marts are rebuilt
   from them (marts.py); CHECKPOINT; close; swap.

Many programs (issue 17): every load is under one program code (`--program`, else mapping.yaml `program:`,
else the default program when the warehouse holds no other). Its rows carry the code; natural keys, id maps
and the upsert are per (program, id); its pseudonyms use its own key (pseudonym.program_key); its cutoff and
load settings are its row of `programs`, which bounds its follow-up in the marts. Integer keys stay unique
across the warehouse, so the marts join facts to people as before. Loading program B only ever deletes or
inserts rows whose program is B: every other program's rows are carried over as they were.

Loading the same export again (same files, mapping, as_of and gap_days as the program's latest batch) changes no
table: load_batches gets rows with status "unchanged", the quarantine gets nothing new, and the data
version stays the same. Otherwise the data version is sha256(previous version | this batch's file hashes |
as_of | gap_days | contract version), first 16 hex.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import re
import shutil
import signal
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from importlib.resources import files as package_files
from pathlib import Path

import duckdb

from peer_outcomes.pipelines.config import (
    DEFAULT_PROGRAM,
    GAP_DAYS,
    MILESTONE_DAYS,
    PROGRAM_CODE,
    SUPERVISION_HOURS,
    memory_limit,
    supervision_hours,
)
from peer_outcomes.pipelines.contract import CONTRACT_VERSION, ENTITIES, LOAD_ORDER
from peer_outcomes.pipelines.errors import UserError
from peer_outcomes.pipelines.idmaps import PERSONS, assign_person_keys, ensure_map, final_maps
from peer_outcomes.pipelines.mapping import Mapping, find_mapping, load_mapping
from peer_outcomes.pipelines.pseudonym import (
    key_id,
    program_key,
    program_key_env,
    program_key_file,
    pseudonym_table,
)
from peer_outcomes.pipelines.readers import (
    ExportError,
    ExportFile,
    Source,
    find_export,
    open_source,
    parquet_damaged,
)
from peer_outcomes.pipelines.report import LoadReport
from peer_outcomes.pipelines.upsert import LATE, load_entity
from peer_outcomes.pipelines.validate import REF_KEYS, Staging, resolve_columns, stage_sql, text_value
from peer_outcomes.pipelines.warehouse import WarehouseError, copy_live, swap_in, warehouse_kind

CORE_TABLES = (*LOAD_ORDER, "load_batches", "quarantine")
# carried over too: every program's settings and matched tracks (this load replaces its own program's rows)
PROGRAM_TABLES = ("programs", "matched_tracks")
# LATE (attendance), the biggest file, has no dates of its own (so it cannot move the default cutoff): it is
# read last, after the tables it refers to are loaded, so its checks need no join beyond the id maps.
MAX_GAP_DAYS = 3650  # ten years without a session: beyond any program's follow-up, and within every date type
SQL_TYPES = {"enum": "varchar", "text": "varchar", "int": "bigint", "bool": "boolean", "date": "date", "number": "double"}


# DuckDB names a file's database after the file, up to its first dot: a warehouse called old.duckdb or
# marts.duckdb would clash with a database the load attaches or a schema it builds (an "ambiguous reference",
# or the live file taken for the new one).
TAKEN_NAMES = frozenset({"old", "scratch", "intermediate", "previous_marts", "scoped", "main", "marts",
                         "aggregates", "memory", "system", "temp"})  # fmt: skip


def run_etl(
    export_dir: Path,
    db: Path,
    mapping: Path | None = None,
    as_of: dt.date | None = None,
    gap_days: int = GAP_DAYS,
    progress: bool = False,
    program: str | None = None,
) -> LoadReport:
    """Load an export folder into the warehouse `db` (created if missing) and return the load report.

    `program` is the code the export loads under (see the module docstring); None takes mapping.yaml's.

    `db` is resolved to its real path first: the lock, the new file and the swap all concern the real file,
    so a symlink keeps pointing at the (new) warehouse and two paths to one file share one lock.
    """
    export_dir, given = Path(export_dir), Path(db)
    db = real_path(given)
    files = find_export(export_dir)
    mp = load_mapping(find_mapping(export_dir, Path(mapping) if mapping else None))
    if not 1 <= gap_days <= MAX_GAP_DAYS:
        raise UserError(f"--gap-days must be a whole number of days from 1 to {MAX_GAP_DAYS:,}.")
    code = _program_code(program, mp.program)
    if code:
        program_key(code)  # a key problem is said before anything is built
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WarehouseError(f"The folder for the warehouse {given} cannot be created ({exc.strerror}).") from None
    if db.is_dir():
        raise WarehouseError(f"The warehouse path {given} is a folder; give a file path such as {given}/warehouse.duckdb.")
    if (stem := db.name.split(".")[0].lower()) in TAKEN_NAMES:
        raise UserError(f"A warehouse cannot be named {given.name}, because “{stem}” is a name the load gives its "
                        "own databases and schemas; name it, for example, warehouse.duckdb.")
    with _load_lock(db), _stoppable() as stop, _steps(progress) as shown:

        def step(message: str) -> None:
            stop.check()
            shown(message)

        for stale in db.parent.glob(f"{db.name}.building-*"):
            _remove(stale)  # left by a killed load (nobody else builds while we hold the lock)
        tmp = db.with_name(f"{db.name}.building-{os.getpid()}")
        try:
            try:
                report = _build(tmp, db, files, mp, as_of, gap_days, code, step, stop)
            except duckdb.OutOfMemoryException:
                raise UserError(
                    f"The load needed more memory than its limit of {memory_limit()}, even spilling to disk: "
                    "set PEER_OUTCOMES_MEMORY_LIMIT higher (for example 16GB) and load again."
                ) from None
            stop.check()
            step("swapping in the new warehouse")
            swap_in(tmp, db)
        except BaseException:
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal"), tmp.with_name(tmp.name + ".tmp")):
                _remove(leftover)
            if stop.signal:  # whatever the signal interrupted (a query, a wait), it ends in one sentence
                raise LoadStopped(
                    f"The load was stopped ({signal.Signals(stop.signal).name}); the warehouse {given} is as it was."
                ) from None
            raise
    report.db = given
    return report


def _program_code(given: str | None, mapped: str | None) -> str | None:
    """The program code this load is under: --program, else mapping.yaml's; None when neither says."""
    if given is not None and not re.fullmatch(PROGRAM_CODE, given):
        raise UserError(
            f"--program must be a short code of letters, digits, - and _ (up to 16 characters), not {given!r}."
        )
    if given and mapped and given != mapped:
        raise UserError(
            f"--program says {given} but the mapping says program: {mapped}; give one program for this export."
        )
    return given or mapped


def _remove(path: Path) -> None:
    """Delete a build leftover: the file, its WAL, or DuckDB's spill folder (which may hold raw rows)."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def _load_lock(db: Path) -> Iterator[None]:
    """One load at a time per warehouse file: an exclusive lock on `<real file>.lock`.

    A lock file this load created is removed again if the load is refused or fails, so a refused `--db`
    leaves nothing behind; a load stopped by a signal removes it whoever made it; a successful load keeps it
    (the warehouse is there beside it). The file is removed while the lock is held, and a lock taken on a
    file removed meanwhile is taken again.
    """
    db = real_path(db)
    lock = db.with_name(db.name + ".lock")
    while True:
        try:
            created = True
            try:
                fh = lock.open("x")
            except FileExistsError:
                created, fh = False, lock.open("a")
        except OSError as exc:
            raise WarehouseError(f"Cannot write next to the warehouse {db} ({exc.strerror}).") from None
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise UserError(f"Another load into {db} is running; wait for it to finish.") from None
        if _same_file(fh, lock):
            break
        fh.close()  # the load that held it removed it after we opened it: lock the file now in its place
    with fh:
        try:
            yield
        except BaseException as exc:  # removed while held: a load waiting on it takes the lock again
            if created or isinstance(exc, LoadStopped):
                lock.unlink(missing_ok=True)
            raise
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class LoadStopped(UserError):
    """SIGTERM or SIGINT stopped the load; the building file, its spill folder and the lock are gone."""


@dataclass
class Stop:
    """The signal that stopped the load (0: none) and the connections a stop interrupts."""

    signal: int = 0
    connections: list = field(default_factory=list)

    def check(self) -> None:
        """Between steps: end the load if a signal came while no query was running to interrupt."""
        if self.signal:
            raise LoadStopped("The load was stopped.")


@contextmanager
def _stoppable() -> Iterator[Stop]:
    """Turn SIGTERM and SIGINT during a load into a clean stop.

    The handlers only note the signal: raised from a handler, an exception can land in any line (a thread's
    start, a finaliser, where it is lost). Python runs handlers only between bytecodes, and one DuckDB query
    may run for many minutes, so the signal also goes to a wakeup pipe: a watcher thread reads it and keeps
    interrupting the load's connections until the load has ended, so the running query and any next one
    fail at once. run_etl then removes the building file, its WAL and spill folder, and _load_lock the lock.
    Outside the main thread (where handlers cannot be set) signals keep their usual effect.
    """
    stop = Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    stops = (signal.SIGTERM, signal.SIGINT)
    ended = threading.Event()

    def note(signum, _frame) -> None:
        stop.signal = stop.signal or signum

    def watch(fd: int) -> None:
        while data := os.read(fd, 64):
            signums = [b for b in data if b in stops]
            if signums:
                stop.signal = stop.signal or signums[0]
                while not ended.is_set():
                    for con in stop.connections:
                        with suppress(duckdb.Error):  # closed already
                            con.interrupt()
                    ended.wait(0.05)
                return

    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    watcher = threading.Thread(target=watch, args=(read_end,), daemon=True)
    watcher.start()
    previous_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    previous = {s: signal.signal(s, note) for s in stops}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        signal.set_wakeup_fd(previous_fd)
        ended.set()
        os.close(write_end)  # the watcher reads end-of-file and returns
        watcher.join()
        os.close(read_end)

def _same_file(fh, path: Path) -> bool:
    """Whether the open file `fh` is still the file at `path` (not removed or replaced since it was opened)."""
    try:
        return os.path.samestat(os.fstat(fh.fileno()), os.stat(path))
    except FileNotFoundError:
        return False


@contextmanager
def _steps(progress: bool) -> Iterator:
    """A step reporter: a rich progress bar on stderr when asked and stderr is a terminal, else silent."""
    from rich.console import Console

    console = Console(stderr=True)
    if not (progress and console.is_terminal):
        yield lambda _msg: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    total = 3 + len(LOAD_ORDER)  # carrying over, one step per file, the marts, the swap
    with Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=total)
        yield lambda msg: bar.update(task, advance=1, description=msg)


def _build(tmp, db, files, mp, as_of, gap_days, code, step, stop: Stop) -> LoadReport:
    started = dt.datetime.now()
    batch_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    policy = supervision_hours()  # a new policy rebuilds the marts under a new data version, as a new gap does
    schema = package_files(__package__).joinpath("sql/warehouse.sql").read_text()
    copied = copy_live(db, tmp, schema)  # every program's rows as they are, not decoded and encoded again
    con = duckdb.connect(str(tmp))
    cursor = con.cursor()  # the background reader's connection
    stop.connections += [con, cursor]
    try:
        # Kept on (DuckDB's default, a global setting): the readers number rows by their order in the table.
        con.execute("set preserve_insertion_order = true")
        # the load says its own steps; DuckDB's bar went to stdout even into a file (180 KB in a 1M load's log)
        for c in (con, cursor):
            c.execute("set enable_progress_bar = false")
        # DuckDB partitions a hash aggregate by its thread count; with 2 (a 2-core machine) the duplicate count
        # over 4 M attendance keys takes 2.6x as long as with 3, whose partitions stay in cache
        # (benchmarks/bench_threads.py). One thread more than cores costs nothing measurable elsewhere.
        if con.execute("select current_setting('threads')").fetchall()[0][0] < 3:
            con.execute("set threads = 3")
        _limit_memory(con)
        con.execute(schema)
        step("carrying over the current warehouse")
        code = _program_in(con, db, code)
        key = program_key(code)
        old = _carry_over(con, db, code, key_id(key), copied)
        _add_covariates(con, mp)

        # Entity by entity: read (CSV and workbooks as text, in the background, one file ahead, into the
        # in-memory database `scratch`; Parquet is not copied, staging reads it where it lies), type and check,
        # load, then drop its raw and staged rows, so that at most one large entity is staged at a time
        # (docs/scale.md). Hashing releases the GIL and runs beside it all.
        con.execute("attach ':memory:' as scratch")
        order = sorted(files, key=lambda e: (e == LATE, LOAD_ORDER.index(e)))  # LATE last (see LATE above)
        # as given, or after every file is checked: then no valid date is after it (it is their latest), so
        # meanwhile the cutoff check is run against the latest date there is
        cutoff = as_of or dt.date.max
        with _background() as reader, _background() as hasher:
            stats = {e: _stat(f.path) for e, f in files.items()}  # the files hashed are the files loaded
            scans = {e: hasher.submit(files[e].sha256) for e in order}  # in the order they are loaded
            labels = {e: f.name for e, f in files.items()}  # reasons name the file a reference points to
            reads = {order[0]: _read(reader, cursor, files[order[0]], mp)}
            reports, latest = [], []
            for i, entity in enumerate(order):
                step(f"reading, checking and loading {files[entity].name}")
                source = reads.pop(entity).result()
                if i + 1 < len(order):  # the next file is read while this one is checked and loaded
                    reads[order[i + 1]] = _read(reader, cursor, files[order[i + 1]], mp)
                if entity == LATE:
                    final_maps(con, code)
                with _parquet_read(source):
                    _, st = _stage(con, entity, source, mp, key, labels, code)
                latest.append(_latest_date(con, {entity: (source, st)}))
                reports.append(
                    _load(con, entity, source, st, cutoff, batch_id, key, labels, scans[entity], code)
                )
                _refuse_changed(files[entity], stats[entity])
                _free(con, entity)
            hashes = {e: scan.result() for e, scan in scans.items()}
            if mp.sha256:
                hashes["mapping"] = mp.sha256
            reports.sort(key=lambda r: LOAD_ORDER.index(r.entity))

        if as_of is None:  # the latest date in the export, never earlier than the warehouse's cutoff
            dates = [d for d in (*latest, (old or {}).get("as_of")) if d is not None]
            as_of = max(dates) if dates else dt.date.today()
        unchanged = (
            bool(old)
            and old["latest_hashes"] == hashes
            and (old["as_of"], old["gap_days"], old["supervision_hours"]) == (as_of, gap_days, policy)
        )
        if unchanged:  # the same export again: its quarantine is already there, from the batch it repeats
            con.execute("delete from quarantine where batch_id = ?", [batch_id])
        status = "unchanged" if unchanged else "loaded"
        finished = dt.datetime.now()
        for r in reports:
            con.execute(
                "insert into load_batches values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    batch_id,
                    r.entity,
                    r.file_name,
                    r.sha256,
                    r.rows_read,
                    r.rows_loaded,
                    r.rows_quarantined,
                    list(r.dropped_columns),
                    started,
                    finished,
                    status,
                    code,
                ],
            )
        if mp.sha256:
            con.execute(
                "insert into load_batches values (?, 'mapping', ?, ?, 0, 0, 0, [], ?, ?, ?, ?)",
                [batch_id, mp.file_name, mp.sha256, started, finished, status, code],
            )
        if unchanged:
            version, built_at = old["data_version"], old["built_at"]
        else:
            parts = [old["data_version"] if old else ""] + sorted(f"{e}:{h}" for e, h in hashes.items())
            parts += [as_of.isoformat(), str(gap_days), CONTRACT_VERSION]
            parts += [f"program:{code}"] if code != DEFAULT_PROGRAM else []
            version, built_at = hashlib.sha256("|".join(parts).encode()).hexdigest()[:16], finished
        # this program's row of `programs` (its cutoff bounds its follow-up); `settings` holds this load's,
        # and the warehouse's data version, for readers that know one program
        name = mp.program_name or (old or {}).get("program_name")
        built = finished if not unchanged else (old or {}).get("program_built_at") or built_at
        con.execute("delete from programs where program = ?", [code])
        con.execute(
            "insert into programs values (?, ?, ?, ?, ?, ?, ?, ?)",
            [code, name, as_of, gap_days, list(MILESTONE_DAYS), policy, key_id(key), built],
        )
        con.execute("delete from settings")
        con.execute(
            "insert into settings values (?, ?, ?, ?, ?, ?, ?, ?)",
            [as_of, gap_days, list(MILESTONE_DAYS), policy, key_id(key), CONTRACT_VERSION, version, built_at],
        )
        con.execute("delete from matched_tracks where program = ?", [code])
        if mp.matched_tracks:
            con.executemany("insert into matched_tracks values (?, ?)", [[t, code] for t in mp.matched_tracks])
        step("building the outcome marts")
        from peer_outcomes.pipelines.marts import build_marts

        con.execute("detach scratch")
        build_marts(con, previous=db, in_place=copied)  # only what changed: the others' rows are the live file's
        con.execute("checkpoint")
    finally:
        cursor.close()
        con.close()
    return LoadReport(batch_id, db, as_of, gap_days, version, status, reports, code)


def _limit_memory(con: duckdb.DuckDBPyConnection) -> None:
    """Hold the load to `config.memory_limit()`; beyond it DuckDB spills to its folder beside the new file
    (`<file>.tmp`, removed with it when a load fails)."""
    limit = memory_limit()
    try:
        con.execute(f"set memory_limit = '{limit.replace(chr(39), '')}'")
    except duckdb.Error:
        raise UserError(
            f"PEER_OUTCOMES_MEMORY_LIMIT is {limit!r}, which is not a memory size: write it like 8GB or 500MB."
        ) from None


def real_path(db: Path) -> Path:
    """The warehouse file that `db` names, symlinks followed (it need not exist yet)."""
    try:
        return db.resolve()
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13)
        raise WarehouseError(f"The warehouse path {db} is a loop of symbolic links.") from None


def _attach_old(con: duckdb.DuckDBPyConnection, db: Path) -> bool:
    """ATTACH the live warehouse read-only as `old`; False when there is none, or nothing in it to keep."""
    if not db.exists():
        return False
    try:
        con.execute(f"attach '{str(db).replace(chr(39), chr(39) * 2)}' as old (read_only)")
    except duckdb.Error as exc:
        if "lock" in str(exc).lower():
            raise WarehouseError(
                f"The warehouse {db} is locked by another process; close it and try again."
            ) from None
        raise WarehouseError(f"The warehouse {db} could not be opened: it is not a DuckDB file.") from None
    kind = warehouse_kind(con, "old")
    if kind == "warehouse":
        return True
    con.execute("detach old")
    if kind == "other":
        raise WarehouseError(
            f"The DuckDB file {db} is not a peer-outcomes warehouse; give a new --db path so its data is kept."
        )
    return False  # empty: nothing to carry over, the file is replaced


def _old_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() where database_name = 'old' and schema_name = 'main'"
        ).fetchall()
    }


def _programs_of(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The programs the attached live warehouse holds (one built before programs holds the default one)."""
    if "programs" not in _old_tables(con):
        return [DEFAULT_PROGRAM]
    return [r[0] for r in con.execute("select program from old.programs order by program").fetchall()]


def _program_in(con: duckdb.DuckDBPyConnection, db: Path, code: str | None) -> str:
    """The program this load is under: the code given, else the default one unless the warehouse holds others."""
    if code:
        return code
    if not _attach_old(con, db):
        return DEFAULT_PROGRAM
    try:
        held = _programs_of(con)
    finally:
        con.execute("detach old")
    if held and held != [DEFAULT_PROGRAM]:
        raise UserError(
            f"The warehouse {db} holds the programs {', '.join(held)}: say which program this export is "
            "with --program (or program: in its mapping.yaml)."
        )
    return DEFAULT_PROGRAM


def _carry_over(
    con: duckdb.DuckDBPyConnection, db: Path, code: str, current_key_id: str, copied: bool = False
) -> dict | None:
    """Copy the live warehouse's rows (every program's) into the new file, unless it is a byte copy of it
    (`copied`, warehouse.copy_live).

    Returns program `code`'s previous load (cutoff, settings, latest file hashes) and the warehouse's data
    version; None when there is no live warehouse yet.
    """
    if not _attach_old(con, db):
        return None
    try:
        rows = con.execute("select as_of, gap_days, key_id, data_version, built_at from old.settings").fetchall()
        has_policy = con.execute(  # warehouses built before the supervision policy was a setting lack it
            "select count(*) from duckdb_columns() where database_name = 'old' and table_name = 'settings'"
            " and column_name = 'supervision_hours'"
        ).fetchone()[0]
        policy = con.execute("select supervision_hours from old.settings").fetchone() if has_policy else None
        settings = rows[0] if rows else None
        tables = _old_tables(con)
        if "programs" in tables:  # this program's own row; a new program has none yet
            mine = con.execute(
                "select as_of, gap_days, key_id, supervision_hours, program_name, built_at from old.programs"
                " where program = ?",
                [code],
            ).fetchall()
        elif settings:  # built before programs: everything in it is the default program's
            mine = [(settings[0], settings[1], settings[2], policy[0] if policy else None, None, settings[4])]
            mine = mine if code == DEFAULT_PROGRAM else []
        else:
            mine = []
        if mine and mine[0][2] != current_key_id:
            which = (
                "PEER_OUTCOMES_KEY_FILE"
                if code == DEFAULT_PROGRAM
                else f"{program_key_env(code)} or {program_key_file(code).name}"
            )
            raise UserError(
                f"The warehouse {db} was built with a different pseudonym key (key id {mine[0][2]})"
                + (f" for program {code}" if code != DEFAULT_PROGRAM else "")
                + f"; use that key ({which}) or load into a new --db."
            )
        for table in (*CORE_TABLES, *PROGRAM_TABLES):
            if copied or table not in tables:
                continue
            new_cols = {r[0] for r in con.execute(f"describe main.{table}").fetchall()}
            for name, typ, *_ in con.execute(f"describe old.{table}").fetchall():
                if name not in new_cols:
                    con.execute(f'alter table main.{table} add column "{name}" {typ}')
            # a table built before programs lacks `program`: its rows take the column default, the default program
            con.execute(f"insert into main.{table} by name select * from old.{table}")
        if "programs" not in tables and settings and not copied:
            con.execute(
                "insert into programs select ?, null, as_of, gap_days, milestone_days, ?, key_id, built_at"
                " from old.settings",
                [DEFAULT_PROGRAM, policy[0] if policy else SUPERVISION_HOURS],
            )
        has_program = con.execute(
            "select count(*) from duckdb_columns() where database_name = 'old' and table_name = 'load_batches'"
            " and column_name = 'program'"
        ).fetchone()[0]
        mine_only = "and program = $code" if has_program else ""
        latest = con.execute(
            f"""select entity, sha256 from old.load_batches where batch_id = (
                   select batch_id from old.load_batches where status in ('loaded', 'unchanged') {mine_only}
                   order by started_at desc limit 1)""",
            {"code": code} if has_program else {},
        ).fetchall()
    finally:
        con.execute("detach old")
    if not settings:
        return None
    out = {"data_version": settings[3], "built_at": settings[4], "latest_hashes": dict(latest)}
    if mine:
        as_of_, gap, _, hours, name, built = mine[0]
        out |= {"as_of": as_of_, "gap_days": gap, "supervision_hours": hours, "program_name": name}
        out["program_built_at"] = built
    else:  # a program new to this warehouse: nothing of its own to compare with
        out |= {"as_of": None, "gap_days": None, "supervision_hours": None, "latest_hashes": {}}
    return out


def _add_covariates(con: duckdb.DuckDBPyConnection, mp: Mapping) -> None:
    for entity, covariates in mp.covariates.items():
        existing = {r[0] for r in con.execute(f"describe {entity}").fetchall()}
        for col in covariates:
            if col.name not in existing:
                con.execute(f'alter table {entity} add column "{col.name}" {SQL_TYPES[col.kind]}')


@contextmanager
def _background() -> Iterator[ThreadPoolExecutor]:
    """One worker thread; on the way out, work not yet started is cancelled and running work awaited."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _stage(
    con, entity: str, source: Source, mp: Mapping, key: bytes, labels: dict[str, str], program: str
) -> tuple[Source, Staging]:
    """Type and check one file's text rows into temp table stg_<entity>; build its id map for later files."""
    table = f"stg_{entity}"
    maps = {ref: f"map_{ref}" for ref in REF_KEYS if ref in ENTITIES[entity].column_names}
    if entity == "sessions":
        maps.pop("session_id")
    for ref in (r for r in maps if r != entity.rstrip("s") + "_id"):
        ensure_map(con, ref)
    own = entity.rstrip("s") + "_id"
    maps = {r: t for r, t in maps.items() if r != own}
    if entity in PERSONS:  # pseudonyms of the trimmed ids, joined in staging like an id map
        column = resolve_columns(entity, source, mp)[0][own]
        ids = f"select {text_value(column)} from {source.relation}"
        pseudonym_table(con, f"pid_{entity}", ids, PERSONS[entity], key)
        maps[own] = f"pid_{entity}"
    linked = [c for c in ENTITIES[entity].columns if c.pseudonym]
    if linked:  # another kind's person ids (mentors.former_participant_id): their pseudonyms, joined alike
        used = resolve_columns(entity, source, mp)[0]
        for col in (c for c in linked if c.name in used):
            ids = f"select {text_value(used[col.name])} from {source.relation}"
            pseudonym_table(con, f"pid_{entity}_{col.name}", ids, col.pseudonym, key)
            maps[col.name] = f"pid_{entity}_{col.name}"
    st = stage_sql(entity, source, mp, table, maps, labels)
    con.execute(st.sql, st.params)
    if entity in PERSONS:
        assign_person_keys(con, entity, program)
    return source, st


def _read(reader: ThreadPoolExecutor, cursor, file, mp: Mapping):
    """Submit one file's read to the background reader (its own connection, into `scratch`)."""
    return reader.submit(open_source, cursor, file, f"scratch.raw_{file.entity}", settle_lines=False, zone=mp.timezone)


def _load(con, entity, source, st, cutoff, batch_id, key, labels, scan, code):
    """Cross-check, upsert and quarantine one staged entity (upsert.load_entity); a Parquet page found
    damaged only now ends in the one sentence a damaged file ends in. The quarantine is always written here
    (an unchanged load deletes it again in `_build`), and the file's SHA-256 is awaited only when needed."""
    with _parquet_read(source):
        report = load_entity(con, entity, source, st, cutoff, batch_id, True, key, labels, "", code)
    return replace(report, sha256=scan.result())


def _free(con: duckdb.DuckDBPyConnection, entity: str) -> None:
    """Drop an entity's raw text and staged rows once it is loaded.

    The quarantined rows of sessions are kept: final_maps tells attendance that their sessions were
    "not loaded" rather than "not in" the sessions file.
    """
    con.execute(f"drop table if exists scratch.raw_{entity}")
    con.execute(f"drop table if exists raw_{entity}")
    if entity == "sessions":
        con.execute("create or replace temp table stg_sessions as select * from stg_sessions where _p is not null")
    else:
        con.execute(f"drop table if exists stg_{entity}")
    con.execute(f"drop table if exists post_{entity}")
    con.execute(f"drop table if exists dups_{entity}")


@contextmanager
def _parquet_read(source: Source) -> Iterator[None]:
    """A damaged page of a Parquet source, found when staging reads it, ends as the file's one sentence."""
    try:
        yield
    except duckdb.Error as exc:
        # what a damaged page raises varies (InvalidInput, IO, or a bare Error from the page header's decoder:
        # "don't know what type"); a mistake in our SQL (binder, catalog, parser) or lack of memory is not damage
        ours = (duckdb.BinderException, duckdb.CatalogException, duckdb.ParserException, duckdb.OutOfMemoryException,
                duckdb.InterruptException)  # fmt: skip
        if source.file.format != "parquet" or isinstance(exc, ours):
            raise
        raise ExportError(parquet_damaged(source.file)) from None


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def _refuse_changed(file: ExportFile, before: tuple[int, int, int] | None) -> None:
    """A file rewritten while it was being loaded: its SHA-256 would not describe the rows loaded."""
    if _stat(file.path) != before:
        raise ExportError(f"{file.name} changed while it was being loaded; export it again and load again.")


def _latest_date(con: duckdb.DuckDBPyConnection, staged: dict[str, tuple[Source, Staging]]) -> dt.date | None:
    """The default data cutoff: the latest valid date anywhere in the export."""
    parts = [
        f"select max({c.name}) as d from stg_{e} where _p is null"
        for e, (_, st) in staged.items()
        for c in st.columns
        if c.kind == "date" and not c.planned
    ]
    return (
        con.execute(f"select max(d) from ({' union all '.join(parts)})").fetchall()[0][0] if parts else None
    )
