"""Keyed pseudonyms: checked against a hand-built HMAC (RFC 2104), and the key file's safety rules."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from peer_outcomes.pipelines import pseudonym
from peer_outcomes.pipelines.errors import UserError

KEY = bytes(range(32))


def rfc2104_hmac_sha256(key: bytes, message: bytes) -> str:
    """HMAC written out from RFC 2104 with hashlib only: H((K ^ opad) || H((K ^ ipad) || m))."""
    block = key.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block) + message).digest()
    return hashlib.sha256(bytes(b ^ 0x5C for b in block) + inner).hexdigest()


def test_pseudonym_is_hmac_sha256_of_kind_and_normalised_id():
    assert pseudonym.pseudonymize("  AB-12 ", "participant", KEY) == rfc2104_hmac_sha256(
        KEY, b"participant|ab-12"
    )


def test_same_id_in_other_spacing_or_case_gets_the_same_pseudonym():
    assert pseudonym.pseudonymize("p001", "participant", KEY) == pseudonym.pseudonymize(
        " P001\t", "participant", KEY
    )


def test_a_mentor_and_a_participant_with_the_same_id_get_different_pseudonyms():
    assert pseudonym.pseudonymize("7", "participant", KEY) != pseudonym.pseudonymize("7", "mentor", KEY)


def test_many_matches_one_at_a_time():
    ids = ["a", "B ", "ß", "12345"]
    assert pseudonym.pseudonymize_many(ids, "mentor", KEY) == [
        pseudonym.pseudonymize(i, "mentor", KEY) for i in ids
    ]


def test_key_id_is_first_16_hex_of_sha256_of_the_key():
    assert pseudonym.key_id(KEY) == hashlib.sha256(KEY).hexdigest()[:16]


def test_key_file_is_created_owner_only_on_first_use(tmp_path, monkeypatch):
    path = tmp_path / "conf" / "peer" / "pseudonym.key"
    monkeypatch.setenv("PEER_OUTCOMES_KEY_FILE", str(path))
    monkeypatch.delenv("PEER_OUTCOMES_KEY", raising=False)
    key = pseudonym.load_key()
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert pseudonym.load_key() == key  # same key next time: same pseudonyms across loads


def test_key_file_is_read_at_call_time_not_import_time(tmp_path, monkeypatch):
    monkeypatch.delenv("PEER_OUTCOMES_KEY", raising=False)
    monkeypatch.setenv("PEER_OUTCOMES_KEY_FILE", str(tmp_path / "a.key"))
    a = pseudonym.load_key()
    monkeypatch.setenv("PEER_OUTCOMES_KEY_FILE", str(tmp_path / "b.key"))
    assert pseudonym.load_key() != a


def test_environment_key_wins_over_the_key_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PEER_OUTCOMES_KEY_FILE", str(tmp_path / "never.key"))
    monkeypatch.setenv("PEER_OUTCOMES_KEY", KEY.hex())
    assert pseudonym.load_key() == KEY
    assert not (tmp_path / "never.key").exists()


def test_malformed_environment_key_is_one_sentence(monkeypatch):
    monkeypatch.setenv("PEER_OUTCOMES_KEY", "not-hex")
    with pytest.raises(
        UserError,
        match=r"^The pseudonym key in PEER_OUTCOMES_KEY is not a 64-character hex \(256-bit\) key\.$",
    ):
        pseudonym.load_key()


def test_key_file_readable_by_others_is_refused(tmp_path, monkeypatch):
    path: Path = tmp_path / "open.key"
    path.write_text(KEY.hex())
    os.chmod(path, 0o644)
    monkeypatch.delenv("PEER_OUTCOMES_KEY", raising=False)
    monkeypatch.setenv("PEER_OUTCOMES_KEY_FILE", str(path))
    with pytest.raises(UserError, match="can be read by other users; run `chmod 600"):
        pseudonym.load_key()


def test_pseudonyms_computed_in_duckdb_match_python_for_every_kind_of_id():
    import duckdb

    ids = ["P001", " p001\t", "AB-12 ", "x\x1fy\x0b", "ß", "Zoë", "İ", "\u00a0P2\u2003", "7", "a" * 300]
    con = duckdb.connect()
    con.execute("create table raw (id varchar)")
    con.executemany("insert into raw values (?)", [[i] for i in [*ids, None, "P001"]])
    for kind in ("participant", "mentor"):
        pseudonym.pseudonym_table(con, "pids", "select id from raw", kind, KEY)
        got = dict(con.execute("select raw_id, value from pids").fetchall())
        assert got == {i: rfc2104_hmac_sha256(KEY, f"{kind}|{i.strip().casefold()}".encode()) for i in ids}
