"""The evidence command's arguments, checked before anything slow starts: dates, the pack folder, the warehouse
and the site, track and program codes.

Why a module of its own: `peer-outcomes evidence` checks these before it starts Chromium and before pandas,
plotly and the models load (seconds on a shared two-core machine), so a mistake ends in one sentence at once.
It reads the warehouse through `pipelines.warehouse` with plain DuckDB rows, no DataFrame.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from peer_outcomes.pipelines import warehouse
from peer_outcomes.pipelines.errors import UserError

KINDS = ("site", "track", "program")


def day(text: str | None, flag: str) -> date | None:
    """A date from command-line text (`--from`, `--to`); a malformed one ends as one sentence."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{flag} must be a date written YYYY-MM-DD, e.g. 2025-01-31.") from None


def period(date_from: str | None, date_to: str | None) -> tuple[date | None, date | None]:
    """The enrollment dates `--from` and `--to`, in order."""
    lo, hi = day(date_from, "--from"), day(date_to, "--to")
    if lo and hi and lo > hi:
        raise UserError("--from must not be later than --to.")
    return lo, hi


def check_folder(out: Path) -> None:
    """The pack goes into a new folder, an empty one, or one holding an earlier pack (its manifest says which
    files are its own), and we may write there."""
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file; give a new or empty folder for the evidence pack.")
    if out.is_dir() and not (out / "manifest.json").exists() and any(out.iterdir()):
        raise UserError(f"The folder {out} is not empty and holds no evidence pack; give a new or empty folder.")
    if (out / "manifest.json").exists():
        try:
            json.loads((out / "manifest.json").read_text())
        except (OSError, ValueError):
            raise UserError(f"The folder {out} holds a manifest.json that is not an evidence pack's; "
                            "give a new or empty folder.") from None  # fmt: skip
    parent = out
    while not parent.exists():  # the nearest folder that is there is where the new ones get created
        parent = parent.parent
    try:  # a real write, not os.access: root passes every permission check, yet /proc refuses a folder
        tempfile.TemporaryDirectory(dir=parent, prefix=".evidence-check-").cleanup()
    except OSError as exc:
        raise UserError(f"The evidence pack cannot be written under {parent} ({exc.strerror}); give another --out."
                        ) from None  # fmt: skip


def codes(db: Path, where: str = "true", params: Sequence = ()) -> dict[str, list[str]]:
    """The site, track and program codes in the warehouse's outcomes (small cells included), within `where`
    (a role's reach: `Filters.where()`)."""
    with warehouse.connect_readonly(db) as con:
        row = con.execute(
            "select list(distinct site order by site), "
            "list(distinct coalesce(program_track, 'none') order by coalesce(program_track, 'none')), "
            f"list(distinct program order by program) from marts.participant_outcomes where {where}",
            list(params),
        ).fetchone()
    return {kind: list(found or []) for kind, found in zip(KINDS, row, strict=True)}


def check_codes(asked: dict[str, Sequence[str]], known: dict[str, list[str]]) -> None:
    """Every site, track and program code asked for is one the warehouse has (`codes`)."""
    for kind in KINDS:
        unknown = sorted(set(asked.get(kind, ())) - set(known[kind]))
        if unknown:
            raise UserError(f"Unknown {kind} code(s) {', '.join(unknown)}; the warehouse has {', '.join(known[kind])}.")


def check_arguments(
    db: Path, out: Path, date_from: str | None, date_to: str | None, sites: Sequence[str], programs: Sequence[str]
) -> None:
    """Everything `peer-outcomes evidence` can check before it starts: one sentence for the first mistake."""
    period(date_from, date_to)
    check_folder(out)
    check_codes({"site": sites, "program": programs}, codes(db))  # opens the warehouse: missing, old, not ours
