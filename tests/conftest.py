"""Shared fixtures: a throwaway pseudonym key, and real synthetic exports and warehouses in tmp dirs.

Everything is real: the synthetic generator writes CSV files, the real ETL loads them into a real DuckDB
file. Session-scoped fixtures are built once per test run and must be treated as read-only.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SMALL_N = 1500
SMALL_SEED = 11


@pytest.fixture(scope="session", autouse=True)
def pseudonym_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh key file for the whole run, so no test ever touches a developer's real key."""
    key = tmp_path_factory.mktemp("key") / "pseudonym.key"
    os.environ["PEER_OUTCOMES_KEY_FILE"] = str(key)
    os.environ.pop("PEER_OUTCOMES_KEY", None)
    return key


@pytest.fixture(scope="session")
def synth_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean synthetic export of SMALL_N participants (CSV files + truth.json)."""
    from peer_outcomes.pipelines.synth import generate

    out = tmp_path_factory.mktemp("export")
    generate(out, participants=SMALL_N, seed=SMALL_SEED)
    return out


@pytest.fixture(scope="session")
def synth_warehouse(synth_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The warehouse the real ETL builds from `synth_export` (read-only for tests)."""
    from peer_outcomes.pipelines.etl import run_etl

    db = tmp_path_factory.mktemp("wh") / "warehouse.duckdb"
    run_etl(synth_export, db)
    return db


@pytest.fixture(scope="session")
def program(tmp_path_factory: pytest.TempPathFactory):
    """`program(name)` -> the warehouse of test program `name` (tests/programs.py), loaded by the real ETL
    once per session and only when a test asks for it."""
    from programs import write_program

    from peer_outcomes.pipelines.etl import run_etl

    built: dict[str, Path] = {}

    def warehouse(name: str) -> Path:
        if name not in built:
            root = tmp_path_factory.mktemp(name)
            write_program(name, root / "export")
            run_etl(root / "export", root / "warehouse.duckdb")
            built[name] = root / "warehouse.duckdb"
        return built[name]

    return warehouse


@pytest.fixture(scope="session")
def reach_warehouses(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(whole program, only the coordinator's sites) warehouses of tests/reach.py, loaded once per session."""
    from reach import write_reach_programs

    return write_reach_programs(tmp_path_factory.mktemp("reach"))


@pytest.fixture(scope="session")
def two_programs(tmp_path_factory: pytest.TempPathFactory):
    """Programs A (12 people) and B (300) in one warehouse, B loaded then reloaded corrected
    (tests/programs.py `write_two_programs`), with snapshots after each load; built once per session."""
    from programs import write_two_programs

    return write_two_programs(tmp_path_factory.mktemp("two_programs"))
