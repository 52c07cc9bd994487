"""dashboard/serve.py's warm-up covers the reach of every role in the sign-in config, not only everyone's."""

from __future__ import annotations

import shutil
from pathlib import Path

from reach import COORDINATOR_SITES, auth_config

from peer_outcomes.analysis import population, published, queries
from peer_outcomes.dashboard import auth, serve


def test_the_server_reads_a_site_coordinators_first_lookups_at_start(synth_warehouse: Path, tmp_path: Path, monkeypatch) -> None:
    """A coordinator limited to one site asks for that site's sidebar choices and notes on groups left out;
    read at start under the keys the app uses, its first visit queries none of them (they cost 0.12 s at
    100k), and they equal what a late read gives."""
    live = tmp_path / "warehouse.duckdb"
    shutil.copy(synth_warehouse, live)  # a file of its own: no other test has filled the memo for it
    config = auth_config(tmp_path, "http://127.0.0.1:9/", "http://127.0.0.1:8501/oauth2callback")
    monkeypatch.setenv(auth.ENV, str(config))
    assert serve.reaches() == [((), ()), (COORDINATOR_SITES, ())]
    serve.warm(str(live))
    seen: list[str] = []
    real = queries.query
    monkeypatch.setattr(queries, "query", lambda db, sql, params=None: seen.append(sql) or real(db, sql, params))
    options = published.filter_options(str(live), COORDINATOR_SITES, ())
    notes = population.left_out_notes(str(live), COORDINATOR_SITES, ())
    assert seen == []
    assert options["sites"] == list(COORDINATOR_SITES)
    assert options == published.filter_options(synth_warehouse, COORDINATOR_SITES, ())
    assert notes == population.left_out_notes(synth_warehouse, COORDINATOR_SITES, ())


def test_without_a_readable_sign_in_config_the_warm_up_is_everyones_only(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(auth.ENV, raising=False)
    assert serve.reaches() == [((), ())]
    broken = tmp_path / "auth.toml"
    broken.write_text("[oidc")
    broken.chmod(0o600)
    monkeypatch.setenv(auth.ENV, str(broken))
    assert serve.reaches() == [((), ())]  # the app says what is wrong with it, in one sentence, at the visit
