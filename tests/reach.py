"""A program of several sites and the same program with only a coordinator's site in it (issue 16).

The role tests compare what a site coordinator sees in the whole program's warehouse with what anyone sees
in a warehouse that never held another site's rows: any number computed from another site shows as a
difference. Both are loaded by the real ETL with the same cutoff, so the data's last date is not one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from peer_outcomes.pipelines.etl import run_etl
from peer_outcomes.pipelines.synth import generate
from peer_outcomes.pipelines.synth_people import AS_OF  # the same cutoff for both loads

PARTICIPANTS, SEED = 800, 5
COORDINATOR_SITES = ("north",)


def write_reach_programs(root: Path) -> tuple[Path, Path]:
    """Load the whole program and its coordinator's sites alone; returns (whole, sites_only) warehouses."""
    generate(root / "whole", participants=PARTICIPANTS, seed=SEED)
    files = {p.name: pd.read_csv(p, dtype=str, keep_default_na=False) for p in (root / "whole").glob("*.csv")}
    people = files["participants.csv"]
    keep = set(people.loc[people["site"].isin(COORDINATOR_SITES), "participant_id"])
    (root / "sites_only").mkdir()
    for name, frame in files.items():  # sessions, mentors and their months describe no participant: kept
        if "participant_id" in frame:
            frame = frame[frame["participant_id"].isin(keep) | (frame["participant_id"] == "")]
        frame.to_csv(root / "sites_only" / name, index=False)
    for mapping in (root / "whole").glob("*.yaml"):
        (root / "sites_only" / mapping.name).write_bytes(mapping.read_bytes())
    out = []
    for name in ("whole", "sites_only"):
        run_etl(root / name, root / f"{name}.duckdb", as_of=AS_OF)
        out.append(root / f"{name}.duckdb")
    return out[0], out[1]


USERS = {"director": "dir@example.org", "site_coordinator": "coord@example.org",
         "grant_writer": "grant@example.org", "analyst": "analyst@example.org"}  # fmt: skip


def auth_config(folder: Path, issuer: str, redirect_uri: str) -> Path:
    """An auth config (owner-only) giving each of USERS its role; the coordinator has COORDINATOR_SITES."""
    rules = "".join(
        f'\n[[access]]\nemail = "{email}"\nrole = "{role}"\n'
        + (f"sites = {json.dumps(list(COORDINATOR_SITES))}\n" if role == "site_coordinator" else "")
        for role, email in USERS.items()
    )
    path = folder / "auth.toml"
    path.write_text(
        f'[oidc]\nissuer = "{issuer}"\nclient_id = "peer-outcomes"\nclient_secret = "test-client-secret"\n'
        f'cookie_secret = "{"c" * 40}"\nredirect_uri = "{redirect_uri}"\n{rules}'
    )
    path.chmod(0o600)
    return path
