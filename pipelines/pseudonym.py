"""Keyed pseudonyms: the only module that turns a program's person ids into warehouse ids.

Policy (docs/privacy.md): HMAC-SHA256 with a 256-bit secret key kept outside the database and the repo.
The id is normalised (trimmed, case-folded) and prefixed with its kind (`participant|`, `mentor|`) before
hashing, so the same person gets the same pseudonym in every load and a mentor id can never collide with a
participant id. A plain or salted hash would not do: a 7-digit id space is brute-forced in under a second.

The key comes from `PEER_OUTCOMES_KEY` (64 hex characters) or from the key file
(`PEER_OUTCOMES_KEY_FILE`, default ~/.config/peer-outcomes/pseudonym.key), read at call time. A missing key
file is created on first use with owner-only permissions (file 0600, folder 0700).

Many programs in one warehouse (issue 17): each program has its own independent random key
(`program_key`). The default program (`config.DEFAULT_PROGRAM`) keeps the key above, so every existing
warehouse keeps its pseudonyms; program CODE reads `PEER_OUTCOMES_KEY_<CODE>` or the key file beside the
default one, `pseudonym.<CODE>.key`, created alike on first use. Independent keys rather than keys derived
from one master key: a program's key reveals nothing of another's (nor does the default key), one program's
key can be rotated or handed over alone, and its key id (stored per program and per batch) says which key
made its pseudonyms. The price is one key file more to back up per program.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import duckdb

from peer_outcomes.pipelines import config
from peer_outcomes.pipelines.errors import UserError

IdKind = Literal["participant", "mentor"]
KEY_BYTES = 32


class PseudonymKeyError(UserError):
    """The pseudonym key is missing, malformed or exposed."""


def key_file() -> Path:
    """Where the key file lives: `PEER_OUTCOMES_KEY_FILE` if set now, else the configured default."""
    env = os.environ.get("PEER_OUTCOMES_KEY_FILE")
    return Path(env) if env else config.DEFAULT_KEY_FILE


def _parse_hex(text: str, where: str) -> bytes:
    text = text.strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise PseudonymKeyError(f"The pseudonym key in {where} is not a 64-character hex (256-bit) key.")
    return key


def program_key_env(program: str) -> str:
    """The environment variable holding program `program`'s key: PEER_OUTCOMES_KEY_<CODE>."""
    return f"{config.KEY_ENV}_{program.upper().replace('-', '_')}"


def program_key_file(program: str) -> Path:
    """Program `program`'s key file: beside the default key file, `pseudonym.<CODE>.key`."""
    path = key_file()
    return path.with_name(f"{path.stem}.{program}{path.suffix}")


def program_key(program: str) -> bytes:
    """The 256-bit key of one program: the default program's is `load_key()`, any other its own (see above)."""
    if program == config.DEFAULT_PROGRAM:
        return load_key()
    return load_key(program_key_env(program), program_key_file(program))


def load_key(env_name: str = config.KEY_ENV, path: Path | None = None) -> bytes:
    """Return the 256-bit key: the environment variable wins, else the key file (created if missing)."""
    env = os.environ.get(env_name)
    if env:
        return _parse_hex(env, env_name)
    path = path or key_file()
    if path.is_symlink() and not path.exists():
        raise PseudonymKeyError(
            f"The pseudonym key file {path} is a symbolic link to a missing file; "
            "restore the key it pointed to, or remove the link to create a new key."
        )
    if path.is_dir():
        raise PseudonymKeyError(
            f"The pseudonym key file {path} is a folder; set PEER_OUTCOMES_KEY_FILE to a file path, "
            f"such as {path / 'pseudonym.key'}."
        )
    if not path.exists():
        return _create_key_file(path)
    return _read_key_file(path)


def _read_key_file(path: Path) -> bytes:
    """The key in an existing key file, refused when other users can read it."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise PseudonymKeyError(
            f"The pseudonym key file {path} can be read by other users; run `chmod 600 {path}`."
        )
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise PseudonymKeyError(
            f"The pseudonym key file {path} could not be read ({exc.strerror})."
        ) from None
    return _parse_hex(text, str(path))


def _create_key_file(path: Path) -> bytes:
    """Write a fresh random key with owner-only permissions; never overwrite an existing one."""
    key = secrets.token_bytes(KEY_BYTES)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:  # a path under a file: FileExistsError or NotADirectoryError
        raise PseudonymKeyError(
            f"The pseudonym key file {path} could not be created: its folder {path.parent} "
            + (
                "is a file or lies under one."
                if isinstance(exc, FileExistsError | NotADirectoryError)
                else f"cannot be made ({exc.strerror})."
            )
        ) from None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs (a link or folder is refused)
        if path.is_file() and not path.is_symlink():
            return _read_key_file(path)
        raise PseudonymKeyError(
            f"The pseudonym key file {path} could not be created: something else is there."
        ) from None
    except OSError as exc:
        raise PseudonymKeyError(
            f"The pseudonym key file {path} could not be created ({exc.strerror})."
        ) from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key.hex() + "\n")
    return key


def key_id(key: bytes) -> str:
    """A public id for the key (first 16 hex of its SHA-256), stored in settings so a rotation is visible."""
    return hashlib.sha256(key).hexdigest()[:16]


def normalise(raw_id: str) -> str:
    """Trim and case-fold an id, so ' P-0042 ' and 'p-0042' are the same person."""
    return raw_id.strip().casefold()


def pseudonymize(raw_id: str, kind: IdKind, key: bytes) -> str:
    """The keyed pseudonym (64 hex) of one id: HMAC-SHA256(key, '<kind>|<normalised id>')."""
    message = f"{kind}|{normalise(raw_id)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def pseudonymize_many(raw_ids: Iterable[str], kind: IdKind, key: bytes) -> list[str]:
    """Pseudonyms for many ids, in order (about 700,000 a second, on one core)."""
    prefix = f"{kind}|".encode()
    digest = hmac.digest  # the one-shot C path: same result as hmac.new(...).hexdigest()
    return [digest(key, prefix + normalise(r).encode(), "sha256").hex() for r in raw_ids]


ASCII_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"  # what str.strip() removes from ASCII text


def pseudonym_table(
    con: duckdb.DuckDBPyConnection, table: str, ids_sql: str, kind: IdKind, key: bytes
) -> None:
    """Temp table `table` (raw_id, value): the pseudonym of every distinct id that `ids_sql` selects.

    The same HMAC-SHA256 as `pseudonymize`, computed in DuckDB on all cores from its sha256 (RFC 2104:
    H((K ^ opad) || H((K ^ ipad) || m))) for ASCII ids, where trim + lower is exactly strip + casefold; any
    other id goes through `pseudonymize_many`. The padded keys are query parameters, never SQL text.
    """
    block = key.ljust(64, b"\0")
    ipad, opad = bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)
    con.execute(
        f"""create or replace temp table {table} as
            select raw_id, case when strlen(raw_id) = length(raw_id) then sha256($opad || unhex(sha256(
                       $ipad || encode($prefix || lower(trim(raw_id, $space)))))) end as value
            from (select distinct raw_id from ({ids_sql}) ids (raw_id) where raw_id is not null)""",
        {"ipad": ipad, "opad": opad, "prefix": f"{kind}|", "space": ASCII_SPACE},
    )
    others = [r[0] for r in con.execute(f"select raw_id from {table} where value is null").fetchall()]
    if others:  # ids with non-ASCII characters: Python's casefold and strip
        con.executemany(
            f"update {table} set value = ? where raw_id = ?",
            [[v, r] for r, v in zip(others, pseudonymize_many(others, kind, key), strict=True)],
        )
