"""`peer-outcomes dashboard`: a bad --db ends as one plain sentence and exit 1, before Streamlit starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CLI = str(Path(sys.executable).with_name("peer-outcomes"))


def test_dashboard_with_a_missing_warehouse_says_so_in_one_sentence(tmp_path):
    db = tmp_path / "nowhere.duckdb"
    out = subprocess.run([CLI, "dashboard", "--db", str(db), "--port", "0"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    message = " ".join(out.stderr.split())
    assert message == f"Error: No warehouse at {db}: run `peer-outcomes etl EXPORT_DIR --db {db}` first."
    assert "Traceback" not in out.stderr + out.stdout


def test_dashboard_with_a_file_that_is_not_duckdb_says_so(tmp_path):
    db = tmp_path / "notes.duckdb"
    db.write_text("not a database")
    out = subprocess.run([CLI, "dashboard", "--db", str(db)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert " ".join(out.stderr.split()) == f"Error: The warehouse {db} could not be opened: it is not a DuckDB file."


def test_dashboard_help_names_the_safe_defaults():
    out = subprocess.run([CLI, "dashboard", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "127.0.0.1" in out.stdout and "--dev" in out.stdout and "Example:" in out.stdout
