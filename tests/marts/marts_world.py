"""Given rows → expected rows: a tiny real warehouse per test, built from hand-written core rows.

`World` collects rows for the core tables (pipelines/sql/warehouse.sql); `world.build()` writes them into
a real DuckDB file in tmp_path, inserts `settings` and runs the real `build_marts`. Dates are written as
days after DAY0 (`d(17)`), so expected `*_days` values can be read off the test.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from peer_outcomes.pipelines.marts import build_marts

WAREHOUSE_SQL = Path(__file__).resolve().parents[2] / "pipelines" / "sql" / "warehouse.sql"
DAY0 = date(2025, 1, 6)  # a Monday, so weeks in attendance_weekly start on d(0), d(7), ...


def d(days: int) -> date:
    """The date `days` after DAY0 (negative: before)."""
    return DAY0 + timedelta(days=days)


class World:
    """Rows for the core tables, written with one call per fact."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._session_key = 0

    def person(self, key: int, enrolled: int = 0, **cols: Any) -> World:
        self.rows["participants"].append(
            {
                "participant_key": key,
                "participant_pid": f"{key:064x}",
                "site": "S1",
                "enrolled_on": d(enrolled),
            }
            | cols
        )
        return self

    def mentor(self, key: int, **cols: Any) -> World:
        self.rows["mentors"].append(
            {"mentor_key": key, "mentor_pid": f"m{key:063x}", "site": "S1", "started_on": d(-900)} | cols
        )
        return self

    def attend(self, key: int, *days: int, format: str = "group", status: str = "attended") -> World:
        """One session per day given (the session's own key), with this person's attendance status."""
        for day in days:
            self._session_key += 1
            self.rows["sessions"].append(
                {
                    "session_key": self._session_key,
                    "session_id": f"s{self._session_key}",
                    "site": "S1",
                    "session_date": d(day),
                    "format": format,
                }
            )
            self.rows["attendance"].append(
                {"session_key": self._session_key, "participant_key": key, "status": status}
            )
        return self

    def exit(self, key: int, day: int, reason: str) -> World:
        self.rows["exits"].append({"participant_key": key, "exit_on": d(day), "reason": reason})
        return self

    def use(self, key: int, day: int, kind: str = "relapse") -> World:
        self.rows["substance_use"].append({"participant_key": key, "event_on": d(day), "kind": kind})
        return self

    def match(self, key: int, mentor: int, day: int) -> World:
        self.rows["matches"].append({"participant_key": key, "mentor_key": mentor, "matched_on": d(day)})
        return self

    def milestone(self, key: int, milestone_days: int, day: int) -> World:
        self.rows["milestones"].append(
            {"participant_key": key, "milestone_days": milestone_days, "achieved_on": d(day)}
        )
        return self

    def fact(self, table: str, **cols: Any) -> World:
        """One row of any core table as given, `*_on` dates as days after DAY0."""
        dated = {k: d(v) if k.endswith("_on") and isinstance(v, int) else v for k, v in cols.items()}
        self.rows[table].append(dated)
        return self

    def build(
        self,
        as_of: int,
        gap_days: int = 30,
        milestone_days: tuple[int, ...] = (30, 60, 90, 180, 365, 730),
        supervision_hours: float = 1.0,
    ) -> duckdb.DuckDBPyConnection:
        """Write the rows and settings to a real DuckDB file, run build_marts, return the open connection.

        The default settings are the ones the tests' expected rows assume (the defaults in config today).
        """
        con = duckdb.connect(str(self.path))
        con.execute(WAREHOUSE_SQL.read_text(encoding="utf-8"))
        con.execute(
            "insert into settings values (?, ?, ?, ?, 'test-key', '1.0', 'test', now())",
            [d(as_of), gap_days, list(milestone_days), supervision_hours],
        )
        con.execute(  # the one program every row belongs to (the column default), with the same settings
            "insert into programs values ('main', null, ?, ?, ?, ?, 'test-key', now())",
            [d(as_of), gap_days, list(milestone_days), supervision_hours],
        )
        for table, table_rows in self.rows.items():
            frame = pd.DataFrame(table_rows).astype(object)  # keep dates as dates and None as NULL
            con.register("given_rows", frame)
            con.execute(f"insert into {table} by name select * from given_rows")
            con.unregister("given_rows")
        build_marts(con)
        return con


def rows(
    con: duckdb.DuckDBPyConnection, mart: str, columns: str, order: str = "participant_key"
) -> list[tuple]:
    """The mart's rows as tuples of the named columns, in a fixed order."""
    return con.execute(f"select {columns} from marts.{mart} order by {order}").fetchall()


def by_key(con: duckdb.DuckDBPyConnection, mart: str, columns: str) -> dict[int, tuple]:
    """One-row-per-participant marts as {participant_key: (columns...)}."""
    return {r[0]: r[1:] for r in rows(con, mart, f"participant_key, {columns}")}


def random_people(world: World, seed: int, n: int = 150) -> list[dict[str, Any]]:
    """Fill `world` with n random people (enrolled days 0-60, as_of day 100) and return their facts.

    Attendance is bursty so that gaps of every length occur, exits land before enrollment, inside
    follow-up and after as_of, and substance use before, on and after the enrollment day.
    """
    import random

    rng = random.Random(seed)
    people = []
    for key in range(1, n + 1):
        enrolled = rng.randint(0, 60)
        attended = sorted({enrolled + rng.randint(-5, 80) for _ in range(rng.choice([0, 1, 3, 6, 12]))})
        missed = sorted({enrolled + rng.randint(0, 60) for _ in range(rng.randint(0, 3))})
        exit_ = None
        if rng.random() < 0.6:
            exit_ = (
                enrolled + rng.randint(-3, 90),
                rng.choice(["completed", "dropped_out", "moved", "deceased"]),
            )
        uses = sorted(
            {
                (enrolled + rng.randint(-3, 90), rng.choice(["lapse", "relapse"]))
                for _ in range(rng.randint(0, 3))
            }
        )
        world.person(key, enrolled=enrolled).attend(key, *attended)
        world.attend(key, *missed, status=rng.choice(["no_show", "cancelled", "excused"]))
        if exit_:
            world.exit(key, *exit_)
        for day, kind in uses:
            world.use(key, day, kind)
        people.append({"key": key, "enrolled": enrolled, "attended": attended, "exit": exit_, "uses": uses})
    return people
