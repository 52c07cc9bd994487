"""The audit trail: who viewed which page and downloaded what, and when, one JSON line per event.

Append-only: the file is opened with O_APPEND and each event is one `write` of one line, so concurrent
sessions never interleave and nothing is ever rewritten. It holds the signed-in user's email, their role,
the page, the file downloaded and the population in words (dates, site and track codes); never a
participant value. It lives beside the warehouse (`audit.jsonl`), not in it: the dashboard opens the
warehouse read-only. `PEER_OUTCOMES_AUDIT` moves it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from peer_outcomes.pipelines.errors import UserError

ENV = "PEER_OUTCOMES_AUDIT"
FIELDS = ("at", "email", "role", "event", "page", "item", "population")


def default_path(db: str | os.PathLike[str]) -> Path:
    """The audit file for warehouse `db`: `$PEER_OUTCOMES_AUDIT`, else audit.jsonl in the warehouse's folder."""
    return Path(os.environ.get(ENV) or Path(db).resolve().parent / "audit.jsonl")


def record(path: Path, email: str, role: str, event: str, page: str, item: str = "", population: str = "") -> None:
    """Append one event (view, download, denied) to the audit file, created owner-only."""
    line = json.dumps({"at": datetime.now(UTC).isoformat(timespec="seconds"), "email": email, "role": role,
                       "event": event, "page": page, "item": item, "population": population}) + "\n"  # fmt: skip
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def logged(path: Path | None, who: tuple[str, str], page: str, item: str, population: str,
           data: bytes | Callable[[], bytes]) -> Callable[[], bytes]:  # fmt: skip
    """A download button's data that records the download when the user clicks (Streamlit calls it then)."""

    def produce() -> bytes:
        if path is not None:
            record(path, *who, "download", page, item, population)
        return data() if callable(data) else data

    return produce


def read(path: Path) -> list[dict]:
    """Every event in the audit file, oldest first; a missing file is one sentence."""
    if not path.is_file():
        raise UserError(f"No audit trail at {path}: it is written by `peer-outcomes dashboard --auth`.")
    events = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            raise UserError(f"Line {n} of the audit trail {path} is not an event; the file was edited.") from None
    return events
