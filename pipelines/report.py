"""The load report: per file, rows read, loaded and quarantined, and the columns dropped (allowlist)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class FileReport:
    """One export file's outcome; rows_read = rows_loaded + rows_quarantined always holds."""

    entity: str
    file_name: str
    sha256: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    dropped_columns: tuple[str, ...] = ()


@dataclass
class LoadReport:
    """What one ETL run did; `status` is "loaded", or "unchanged" when the export was already loaded."""

    batch_id: str
    db: Path
    as_of: dt.date
    gap_days: int
    data_version: str
    status: str
    files: list[FileReport] = field(default_factory=list)
    program: str = "main"  # the program the export was loaded under (config.DEFAULT_PROGRAM by default)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    def file(self, entity: str) -> FileReport:
        return next(f for f in self.files if f.entity == entity)

    def rows(self) -> list[tuple[str, int, int, int, str]]:
        """Table rows for the CLI: file, read, loaded, quarantined, dropped columns (summarised)."""
        return [
            (f.file_name, f.rows_read, f.rows_loaded, f.rows_quarantined, summarise(f.dropped_columns))
            for f in self.files
        ]


def summarise(names: tuple[str, ...], shown: int = 5) -> str:
    """Column names for one line of the report: all of a few, or the first `shown` and how many more."""
    cut = [n if len(n) <= 40 else n[:39] + "…" for n in names[: shown + 1]]
    if len(names) <= shown + 1:
        return ", ".join(cut)
    return f"{', '.join(cut[:shown])} and {len(names) - shown:,} more"


@dataclass
class WarehouseStatus:
    """What `peer-outcomes status` shows: settings, recent batches, row counts, quarantine by reason."""

    settings: dict
    batches: list[tuple]  # batch_id, started_at, status, files, rows_read, rows_loaded, rows_quarantined, program
    counts: list[tuple[str, int]]
    quarantine: list[tuple[str, str, int]]  # entity, reason, rows (latest loading batch)
    programs: list[tuple] = field(default_factory=list)  # program, name, as_of, participants (warehouse tier)


def warehouse_status(db: Path, last: int = 10) -> WarehouseStatus:
    """Read the status of a warehouse file (read-only, one short connection)."""
    from peer_outcomes.pipelines.contract import LOAD_ORDER, PRACTICE_ENTITIES
    from peer_outcomes.pipelines.quarantine import summary
    from peer_outcomes.pipelines.warehouse import connect_readonly

    with connect_readonly(db) as con:
        cols = ["as_of", "gap_days", "key_id", "contract_version", "data_version", "built_at"]
        rows = con.execute(f"select {', '.join(cols)} from settings").fetchall()
        batches = con.execute(
            """select batch_id, min(started_at), any_value(status), count(*) filter (where entity <> 'mapping'),
                      sum(rows_read), sum(rows_loaded), sum(rows_quarantined), any_value(program)
               from load_batches group by batch_id order by min(started_at) desc limit ?""",
            [last],
        ).fetchall()
        counts = [(t, con.execute(f"select count(*) from {t}").fetchall()[0][0]) for t in LOAD_ORDER]
        # the optional mentoring-practice tables only when a program sends them: no rows of zeros otherwise
        counts = [(t, n) for t, n in counts if n or t not in PRACTICE_ENTITIES]
        quarantine = summary(con)
        programs = con.execute(
            """select p.program, coalesce(p.program_name, p.program), p.as_of,
                      (select count(*) from participants t where t.program = p.program)
               from programs p order by 1"""
        ).fetchall()
    settings = dict(zip(cols, rows[0], strict=True)) if rows else {}
    return WarehouseStatus(settings, batches, counts, quarantine, programs)
