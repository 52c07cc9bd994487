"""`peer-outcomes doctor`: checks a server's setup as docs/deploy.md describes it, one line per check.

Each check returns (passed, sentence). Nothing is changed: the sentences say what to run.
"""

from __future__ import annotations

import os
from pathlib import Path

from peer_outcomes.dashboard import audit, auth
from peer_outcomes.pipelines import config
from peer_outcomes.pipelines.errors import UserError
from peer_outcomes.pipelines.warehouse import query

Check = tuple[bool, str]


def key_check(path: Path) -> Check:
    """The pseudonym key file `path` is owner-only (or the key comes from the environment)."""
    if os.environ.get(config.KEY_ENV):
        return True, f"Pseudonym key: taken from ${config.KEY_ENV}; keep it out of shell history and unit files."
    if not path.exists():
        return True, f"Pseudonym key: none at {path} yet; the first load creates it, readable by its owner only."
    if not path.is_file() or not auth.is_private(path):
        return False, f"Pseudonym key: {path} can be read by other users or is not a file; run `chmod 600 {path}`."
    return True, f"Pseudonym key: {path} is readable by its owner only."


def warehouse_check(db: Path) -> Check:
    """The warehouse opens read-only and has been loaded."""
    try:
        as_of = query(db, "select as_of from settings")["as_of"]
    except UserError as exc:
        return False, f"Warehouse: {exc}"
    if as_of.empty:
        return False, f"Warehouse: {db} opens but was never loaded; run `peer-outcomes etl EXPORT_DIR --db {db}`."
    return True, f"Warehouse: {db} opens read-only (data to {as_of.iloc[0]:%Y-%m-%d})."


def auth_check(auth_file: Path | None) -> Check:
    """The auth config is complete, its rules valid and its secrets owner-only."""
    if auth_file is None:
        return True, "Sign-in: off (no --auth), so the dashboard may serve only 127.0.0.1."
    try:
        cfg = auth.load_config(auth_file)
    except UserError as exc:
        return False, f"Sign-in: {exc}"
    return True, f"Sign-in: {auth_file} is complete, with {len(cfg.rules)} access rules, readable by its owner only."


def rules_check(db: Path, auth_file: Path | None) -> Check | None:
    """Every program and site an access rule names is in the warehouse: a misspelt code would show its users
    nothing of it, silently. None when there is no config or no warehouse to hold the rules against."""
    try:
        cfg = auth.load_config(auth_file) if auth_file else None
        held = query(db, "select distinct program, site from participants") if cfg else None
    except UserError:
        return None  # said by auth_check or warehouse_check
    if cfg is None or held is None:
        return None
    for i, rule in enumerate(cfg.rules, start=1):
        for kind, codes, known in (("program", rule.programs, held["program"]), ("site", rule.sites, held["site"])):
            if unknown := sorted(set(codes) - set(known.astype(str))):
                return False, (
                    f"Access rules: rule {i} in {auth_file} names {kind} {', '.join(unknown)}, which the warehouse "
                    f"does not hold (it holds {', '.join(sorted(set(known.astype(str))))}); fix the code or load it."
                )
    return True, f"Access rules: every program and site the rules name is in {db}."


def address_check(address: str, auth_file: Path | None) -> Check:
    """Any address but this machine's own needs sign-in."""
    if auth.is_loopback(address):
        return True, f"Address: {address} is reachable from this machine only (put the reverse proxy in front)."
    if auth_file is None:
        return False, f"Address: {address} can be reached from other machines, but sign-in is off; add --auth FILE."
    return True, f"Address: {address} is served with sign-in; let only the reverse proxy reach it."


def audit_check(db: Path) -> Check:
    """The audit trail can be appended to, and only its owner can read it."""
    path = audit.default_path(db)
    if path.exists():
        if not os.access(path, os.W_OK):
            return False, f"Audit trail: {path} cannot be written by this user."
        if not auth.is_private(path):
            return False, f"Audit trail: {path} names users but others can read it; run `chmod 600 {path}`."
        return True, f"Audit trail: {path} is appended to and readable by its owner only."
    if not os.access(path.parent, os.W_OK):
        return False, f"Audit trail: {path} cannot be created, since {path.parent} is not writable by this user."
    return True, f"Audit trail: {path} will be created, readable by its owner only."


def run_checks(key: Path, db: Path, auth_file: Path | None, address: str) -> list[Check]:
    """Every check, in the order docs/deploy.md sets things up (`key`: pipelines.pseudonym.key_file())."""
    checks = [key_check(key), warehouse_check(db), auth_check(auth_file), rules_check(db, auth_file)]
    return [c for c in checks if c is not None] + [address_check(address, auth_file), audit_check(db)]
