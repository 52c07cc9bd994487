"""The numbered notebooks run top to bottom on a real synthetic warehouse, are committed without outputs,
match their jupytext scripts, and say in their first cell that nothing in them is published."""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]-*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]


def test_the_five_numbered_notebooks_exist() -> None:
    assert IDS == ["01-retention", "02-relapse", "03-engagement-dose", "04-matching", "05-power"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert all(c.outputs == [] and c.execution_count is None for c in code)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_matches_its_paired_percent_script(path: Path) -> None:
    nb = jupytext.read(path)
    script = jupytext.read(path.with_suffix(".py"))
    assert nb.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    assert [(c.cell_type, c.source) for c in nb.cells] == [(c.cell_type, c.source) for c in script.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_says_first_that_nothing_in_it_is_published(path: Path) -> None:
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "markdown"
    assert "not for publication" in first.source.lower()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_reads_the_warehouse_path_from_one_variable(path: Path) -> None:
    source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert source.count('DB = Path(os.environ.get("PEER_OUTCOMES_DB", "../data/warehouse.duckdb"))') == 1
    assert "duckdb.connect" not in source  # through analysis.queries / pipelines.warehouse only


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_top_to_bottom_on_a_synthetic_warehouse(
    path: Path, synth_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEER_OUTCOMES_DB", str(synth_warehouse))  # the kernel inherits the environment
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert len(outputs) >= 3  # it showed results, not just ran silently
