"""The `world` fixture: an empty tiny warehouse in tmp_path to fill with hand-written rows (marts_world.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from marts_world import World


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path / "warehouse.duckdb")
