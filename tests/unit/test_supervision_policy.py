"""The supervision policy (config.SUPERVISION_HOURS, PEER_OUTCOMES_SUPERVISION_HOURS) is a load setting: the
warehouse stores it, marts.mentor_months applies it, and a load under another policy is a new data version
(the dashboard's caches are keyed by it), as a new --gap-days is."""

from __future__ import annotations

from pathlib import Path

import duckdb

from peer_outcomes.pipelines.etl import run_etl

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "exports" / "tiny"


def _policy(db: Path) -> float:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select supervision_hours from settings").fetchone()[0]


def test_a_new_supervision_policy_reloads_the_same_export_under_a_new_data_version(tmp_path, monkeypatch):
    db = tmp_path / "wh.duckdb"
    monkeypatch.delenv("PEER_OUTCOMES_SUPERVISION_HOURS", raising=False)
    first = run_etl(TINY, db)
    assert _policy(db) == 1.0
    monkeypatch.setenv("PEER_OUTCOMES_SUPERVISION_HOURS", "2")
    second = run_etl(TINY, db)
    assert second.status == "loaded" and second.data_version != first.data_version and _policy(db) == 2.0
    third = run_etl(TINY, db)
    assert third.status == "unchanged" and third.data_version == second.data_version
