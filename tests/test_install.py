"""The product after an ordinary install: a wheel whose only top-level package is `peer_outcomes`, installed
non-editable into a fresh venv and run from another folder (synth → etl → status → evidence → extract, and
the dashboard's definition panels read their text from the installed package, not from the repo)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    return next(out.glob("peer_outcomes-*.whl"))


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel; its dependencies come from this venv through a .pth line only."""
    venv = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(subprocess.check_output([venv / "bin/python", "-c", "import site; print(site.getsitepackages()[0])"], text=True).strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin/python"), "install", "--quiet",
                    "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True)  # fmt: skip
    return venv


def test_the_wheel_has_one_top_level_package_with_its_sql_and_docs(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {"peer_outcomes"}
    assert "peer_outcomes/pipelines/sql/marts/retention.sql" in names
    assert "peer_outcomes/docs/outcomes.md" in names
    assert "peer_outcomes/dashboard/app_pages/overview.py" in names


def test_every_command_works_from_an_installed_wheel_outside_the_repo(installed: Path, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k not in ("PEER_OUTCOMES_DB", "PYTHONPATH")} | {"PYTHONSAFEPATH": "1"}

    def run(*args: str) -> str:
        done = subprocess.run([installed / "bin/peer-outcomes", *args], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("synth", "--participants", "400", "--seed", "3", "--out", "export")
    run("etl", "export", "--db", "wh.duckdb")
    assert "participants" in run("status", "--db", "wh.duckdb")
    run("evidence", "--out", "pack", "--db", "wh.duckdb")
    assert (tmp_path / "pack" / "manifest.json").is_file()
    run("extract", "--out", "extract", "--db", "wh.duckdb")
    assert (tmp_path / "extract" / "README.md").is_file()

    where = subprocess.check_output(
        [installed / "bin/python", "-c", "import peer_outcomes; print(peer_outcomes.__file__)"], cwd=tmp_path, env=env, text=True
    )
    assert Path(where.strip()).is_relative_to(installed)  # the installed copy, not the repo's editable one
    panel = subprocess.run(
        [installed / "bin/python", "-c",
         "import sys; from importlib.resources import files; from streamlit.testing.v1 import AppTest\n"
         "at = AppTest.from_file(str(files('peer_outcomes.dashboard') / 'app.py'), default_timeout=120).run()\n"
         "at.switch_page('app_pages/retention.py').run()\n"
         "assert not at.exception, at.exception\n"
         "print(at.expander[0].markdown[0].value)"],
        cwd=tmp_path, env=env | {"PEER_OUTCOMES_DB": str(tmp_path / "wh.duckdb")}, capture_output=True, text=True,
    )  # fmt: skip
    assert panel.returncode == 0, panel.stderr
    assert "disengag" in panel.stdout.lower() and not panel.stdout.startswith("See docs/")
