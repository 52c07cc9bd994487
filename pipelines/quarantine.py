"""The quarantine: rejected rows kept with file, line, column and a reason a coordinator understands.

Nothing is dropped or coerced silently: every row read either lands in its table or gets one quarantine
row (the first problem found), so rows read = rows loaded + rows quarantined for every file. The raw value
is kept only for contract fields that are not identifiers and never for a dropped column (docs/privacy.md);
it is cut to 100 characters.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from peer_outcomes.pipelines.validate import Checks


def write_quarantine(
    con: duckdb.DuckDBPyConnection,
    batch_id: str,
    entity: str,
    file_name: str,
    staged: str,
    checks: Checks,
    unreadable: list[tuple[int, str]],
) -> int:
    """Copy the staged rows marked bad (and unreadable rows) into `quarantine`; return how many."""
    rows = checks.rows()
    reasons = pa.table(
        {
            "idx": pa.array([r[0] for r in rows], pa.int32()),
            "column_name": pa.array([r[1] for r in rows], pa.string()),
            "reason": pa.array([r[2] for r in rows], pa.string()),
            "keep_value": pa.array([r[3] for r in rows], pa.bool_()),
        }
    )
    con.register("_reasons", reasons)
    try:
        con.execute(
            f"""
            insert into quarantine
            select ?, ?, ?, s._line, r.column_name,
                   case when r.keep_value then s._bad_value end,
                   replace(r.reason, '{{detail}}', coalesce(s._detail, ''))
            from {staged} s join _reasons r on s._p = r.idx
            """,
            [batch_id, entity, file_name],
        )
    finally:
        con.unregister("_reasons")
    if unreadable:  # one insert from an Arrow table: a million rows in about a second, not half an hour
        con.register(
            "_unreadable",
            pa.table(
                {
                    "line": pa.array([line for line, _ in unreadable], pa.int64()),
                    "reason": pa.array([reason for _, reason in unreadable], pa.string()),
                }
            ),
        )
        try:
            con.execute(
                "insert into quarantine select ?, ?, ?, line, null, null, reason from _unreadable",
                [batch_id, entity, file_name],
            )
        finally:
            con.unregister("_unreadable")
    return con.execute(
        "select count(*) from quarantine where batch_id = ? and entity = ?", [batch_id, entity]
    ).fetchall()[0][0]


def summary(con: duckdb.DuckDBPyConnection, batch_id: str | None = None) -> list[tuple]:
    """Quarantined rows by entity and reason (latest loading batch unless one is named)."""
    if batch_id is None:
        row = con.execute(
            "select batch_id from load_batches where status = 'loaded' order by started_at desc limit 1"
        ).fetchall()
        if not row:
            return []
        batch_id = row[0][0]
    return con.execute(  # one line per kind of problem (the view quarantine_kinds, warehouse.sql)
        """select entity, reason_kind as reason, count(*) as n_rows
           from quarantine_kinds where batch_id = ? group by all order by entity, n_rows desc, reason""",
        [batch_id],
    ).fetchall()
