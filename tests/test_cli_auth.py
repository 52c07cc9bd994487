"""`peer-outcomes dashboard --auth/--address`, `audit` and `doctor`: refusals as one sentence, checks one line
each, and the audit trail printed as it was appended."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from peer_outcomes.dashboard import audit

CLI = str(Path(sys.executable).with_name("peer-outcomes"))
GOOD = f"""[oidc]
issuer = "http://127.0.0.1:9/"
client_id = "peer-outcomes"
client_secret = "test-client-secret"
cookie_secret = "{"c" * 40}"
redirect_uri = "http://127.0.0.1:8501/oauth2callback"

[[access]]
email = "dir@example.org"
role = "director"
"""


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture
def auth_file(tmp_path: Path) -> Path:
    path = tmp_path / "auth.toml"
    path.write_text(GOOD)
    path.chmod(0o600)
    return path


def test_serving_beyond_this_machine_without_sign_in_is_refused_in_one_sentence(synth_warehouse):
    out = _cli("dashboard", "--db", str(synth_warehouse), "--address", "0.0.0.0")
    assert out.returncode == 1
    assert " ".join(out.stderr.split()) == (
        "Error: Serving on 0.0.0.0 lets other machines in, so it needs sign-in: add --auth FILE (docs/deploy.md)."
    )
    assert "Traceback" not in out.stderr + out.stdout


def test_an_auth_config_others_can_read_is_refused_before_serving(synth_warehouse, auth_file):
    auth_file.chmod(0o644)
    out = _cli("dashboard", "--db", str(synth_warehouse), "--auth", str(auth_file))
    assert out.returncode == 1
    assert " ".join(out.stderr.split()) == (
        f"Error: The auth config {auth_file} holds secrets but other users can read it; run `chmod 600 {auth_file}`."
    )
    assert "test-client-secret" not in out.stderr + out.stdout


def test_doctor_passes_a_sound_setup_one_line_per_check(synth_warehouse, auth_file):
    out = _cli("doctor", "--db", str(synth_warehouse), "--auth", str(auth_file), "--address", "0.0.0.0")
    lines = out.stdout.splitlines()
    assert out.returncode == 0, out.stdout + out.stderr
    assert [line.split()[0] for line in lines] == ["ok"] * 6
    assert [line.split()[1] for line in lines] == ["Pseudonym", "Warehouse:", "Sign-in:", "Access", "Address:", "Audit"]
    assert "test-client-secret" not in out.stdout and "c" * 40 not in out.stdout


def test_doctor_fails_on_readable_secrets_an_open_address_and_a_missing_warehouse(tmp_path, auth_file):
    auth_file.chmod(0o640)
    open_address = _cli("doctor", "--db", str(tmp_path / "none.duckdb"), "--address", "0.0.0.0")
    readable = _cli("doctor", "--db", str(tmp_path / "none.duckdb"), "--auth", str(auth_file))
    assert open_address.returncode == readable.returncode == 1
    assert f"FAIL  Warehouse: No warehouse at {tmp_path / 'none.duckdb'}" in open_address.stdout
    assert ("FAIL  Address: 0.0.0.0 can be reached from other machines, but sign-in is off; add --auth FILE."
            in open_address.stdout)  # fmt: skip
    assert f"FAIL  Sign-in: The auth config {auth_file} holds secrets but other users can read it" in readable.stdout


def test_doctor_fails_on_a_rule_naming_a_program_or_site_the_warehouse_lacks(synth_warehouse, auth_file):
    auth_file.write_text(GOOD + '\n[[access]]\nemail = "a@example.org"\nrole = "director"\nprograms = ["mian"]\n')
    program = _cli("doctor", "--db", str(synth_warehouse), "--auth", str(auth_file))
    auth_file.write_text(GOOD + '\n[[access]]\nemail = "c@example.org"\nrole = "site_coordinator"\nsites = ["nowhere"]\n')
    site = _cli("doctor", "--db", str(synth_warehouse), "--auth", str(auth_file))
    assert program.returncode == site.returncode == 1
    assert (f"FAIL Access rules: rule 2 in {auth_file} names program mian, which the warehouse does not hold "
            "(it holds main); fix the code or load it.") in " ".join(program.stdout.split())  # fmt: skip
    assert f"FAIL Access rules: rule 2 in {auth_file} names site nowhere, which the warehouse" in " ".join(site.stdout.split())


def test_audit_prints_the_trail_as_appended_and_the_file_is_owner_only(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    path = audit.default_path(db)
    audit.record(path, "dir@example.org", "director", "view", "overview", population="all participants")
    first = path.read_bytes()
    audit.record(path, "coord@example.org", "site_coordinator", "download", "retention", "retention_curve.csv", "sites north")
    assert path.read_bytes().startswith(first) and path.stat().st_mode & 0o777 == 0o600
    out = subprocess.run([CLI, "audit", "--db", str(db)], capture_output=True, text=True, timeout=60,
                         env={"COLUMNS": "200", "PATH": ""})  # fmt: skip
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if "@example.org" in line]
    assert len(rows) == 2 and "view" in rows[0] and "retention_curve.csv" in rows[1]


def test_audit_without_a_trail_says_so_in_one_sentence(tmp_path):
    out = _cli("audit", "--db", str(tmp_path / "warehouse.duckdb"))
    assert out.returncode == 1
    assert " ".join(out.stderr.split()) == (
        f"Error: No audit trail at {tmp_path / 'audit.jsonl'}: it is written by `peer-outcomes dashboard --auth`."
    )
