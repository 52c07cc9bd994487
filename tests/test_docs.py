"""The README's command list and each command's --help cover every command and option of `peer-outcomes`,
and name none that does not exist (as sqlite-utils' tests/test_docs.py keeps its CLI reference honest)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from peer_outcomes.dashboard.cli import app

ROOT = Path(__file__).resolve().parents[1]
CLI = typer.main.get_command(app)
COMMANDS = sorted(CLI.commands)


def options(name: str) -> set[str]:
    """Every long option of command `name` (without --help)."""
    return {o for p in CLI.commands[name].params if p.param_type_name == "option" for o in p.opts} - {"--help"}


def readme_lines() -> dict[str, str]:
    """Command -> its line in the README's command list (lines that start `peer-outcomes <command>`)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return {m.group(1): m.group(0) for m in re.finditer(r"^peer-outcomes ([\w-]+)[^\n]*", text, re.M)}


def help_text(name: str) -> str:
    out = CliRunner().invoke(app, [name, "--help"], terminal_width=200)
    assert out.exit_code == 0, out.output
    return out.output


def test_the_cli_has_the_commands_the_readme_promises():
    assert set(COMMANDS) >= {"synth", "etl", "status", "dashboard", "evidence", "extract"}


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_and_every_option_is_in_the_readme(name):
    lines = readme_lines()
    assert name in lines, f"README.md lists no `peer-outcomes {name}` line"
    missing = {o for o in options(name) if not re.search(rf"{re.escape(o)}\b", lines[name])}
    assert not missing, f"README.md's `peer-outcomes {name}` line does not mention {sorted(missing)}"


def test_the_readme_names_no_command_or_option_that_does_not_exist():
    for name, line in readme_lines().items():
        assert name in CLI.commands, f"README.md names `peer-outcomes {name}`, which does not exist"
        named = set(re.findall(r"(?<![\w-])--[a-z][\w-]*", line.split("#")[0]))
        assert named <= options(name), f"README.md's `{name}` line names {sorted(named - options(name))}"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_help_has_an_example_and_explains_every_option(name):
    text = help_text(name)
    assert f"Example: peer-outcomes {name}" in text
    for p in CLI.commands[name].params:
        if p.param_type_name == "option" and p.name != "help":
            assert p.help, f"{name} {p.opts[0]} has no help text"
            assert p.opts[0] in text
