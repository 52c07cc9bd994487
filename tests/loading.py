"""Helpers for tests that stop a load midway (tests/unit/test_etl_stop.py, test_etl_atomic.py)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path


def wait_until_building(proc: subprocess.Popen, db: Path, timeout: float, settle: float) -> None:
    """Return once `proc`'s load of `db` has started writing its new warehouse file, and `settle` seconds more;
    fail if the load ends first (then it could not be stopped midway)."""
    building = db.with_name(f"{db.name}.building-{proc.pid}")
    deadline = time.monotonic() + timeout
    while not (building.exists() and building.stat().st_size > 0):
        assert proc.poll() is None, "the load ended before it could be stopped"
        assert time.monotonic() < deadline, f"no {building.name} after {timeout} s"
        time.sleep(0.01)
    time.sleep(settle)
    assert proc.poll() is None, "the load ended before it could be stopped"
