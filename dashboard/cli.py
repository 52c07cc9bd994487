"""The `peer-outcomes` command: wires every layer (synth, etl, status, dashboard, evidence, extract).

Each subcommand is a few lines: help text with an example, and user errors as one plain sentence with a
non-zero exit (`main` turns a `UserError` into that; nothing else is caught, so bugs still show).
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from pipelines.errors import UserError

app = typer.Typer(
    help="Outcomes analytics for peer-mentoring programs: load an export, analyse, serve the dashboard.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)

# --- subcommands are added below, one block each ---------------------------------------------


def main() -> None:
    """Console entry point: a UserError ends as one sentence on stderr and exit code 1."""
    try:
        app()
    except UserError as exc:
        err.print(f"Error: {exc}", markup=False, highlight=False)
        sys.exit(1)
