"""Paths and settings shared by every layer, each overridable by an environment variable.

Defaults keep generated data under `data/` (git-ignored) and the pseudonym key outside the repo.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB = Path(os.environ.get("PEER_OUTCOMES_DB", "data/warehouse.duckdb"))
DEFAULT_KEY_FILE = Path(
    os.environ.get("PEER_OUTCOMES_KEY_FILE", Path.home() / ".config" / "peer-outcomes" / "pseudonym.key")
)
KEY_ENV = "PEER_OUTCOMES_KEY"  # a hex key in the environment wins over the key file

# Programs (issue 17): every load is under a program code (etl --program, else mapping.yaml `program:`);
# a warehouse loaded without one holds the default program, whose pseudonym key is the key above.
DEFAULT_PROGRAM = "main"
PROGRAM_CODE = r"[A-Za-z0-9][A-Za-z0-9_-]{0,15}"  # a short code: it names key files and environment variables

# Load settings: the ETL writes the ones it used into the warehouse's `settings` table, and the marts read
# them from there (never from here), so a warehouse always says how its outcomes were defined.
GAP_DAYS = 30  # default --gap-days: no attended session for this many days = disengaged (docs/outcomes.md)
MILESTONE_DAYS = (30, 60, 90, 180, 365, 730)  # sobriety milestones followed by marts.milestones
# Supervision policy: the hours of supervision an active mentor should receive each month (marts.mentor_months
# is_supervised). `PEER_OUTCOMES_SUPERVISION_HOURS` sets another policy for the next load.
SUPERVISION_HOURS = 1.0


def supervision_hours() -> float:
    """The supervision policy in hours a month: `PEER_OUTCOMES_SUPERVISION_HOURS`, else SUPERVISION_HOURS."""
    return float(os.environ.get("PEER_OUTCOMES_SUPERVISION_HOURS", SUPERVISION_HOURS))


MIN_CELL = 11  # smallest number of people anything published may describe (docs/privacy.md)
HEADLINE_DAYS = (30, 90, 180, 365)  # days at which pages and reports state survival


def min_cell() -> int:
    """The suppression threshold: `PEER_OUTCOMES_MIN_CELL` may raise it, never lower it below 11."""
    return max(MIN_CELL, int(os.environ.get("PEER_OUTCOMES_MIN_CELL", MIN_CELL)))


MIN_CLUSTERS = 20  # fewest clusters a cluster-robust (sandwich) SE is used with (docs/methods.md)


def min_clusters() -> int:
    """Fewest clusters for a robust SE: `PEER_OUTCOMES_MIN_CLUSTERS` may change it, never below 2."""
    return max(2, int(os.environ.get("PEER_OUTCOMES_MIN_CLUSTERS", MIN_CLUSTERS)))


# DuckDB's memory for a load (its default is 80% of RAM): past it, joins, aggregates and sorts spill to a
# temporary folder beside the file being built, so a larger export loads slower rather than fails.
MEMORY_LIMIT = "8GB"


def memory_limit() -> str:
    """The load's DuckDB memory limit: `PEER_OUTCOMES_MEMORY_LIMIT` (e.g. 4GB, 500MB), else MEMORY_LIMIT."""
    return os.environ.get("PEER_OUTCOMES_MEMORY_LIMIT", MEMORY_LIMIT).strip()
