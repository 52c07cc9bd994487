"""The import table of docs/architecture.md holds in the code: every `import` in every module of a layer
(found with `ast`, including imports inside functions) names only the layer itself or what its row allows."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("pipelines", "analysis", "dashboard", "notebooks")
WIRES_EVERY_LAYER = {"dashboard/cli.py"}  # the console entry point (the table's "`cli.py` wires every layer")


def allowed_imports() -> dict[str, set[str]]:
    """Layer -> the peer_outcomes modules it may import, read from the table in docs/architecture.md."""
    table: dict[str, set[str]] = {}
    for line in (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and (m := re.fullmatch(r"`?(\w+)`?", cells[0])) and m.group(1) in LAYERS:
            may = re.sub(r";.*", "", cells[1])  # "…; `cli.py` wires every layer" is WIRES_EVERY_LAYER
            table[m.group(1)] = {m.group(1)} | set(re.findall(r"`([\w.]+)`", may))
    return table


def imported_modules(path: Path) -> set[str]:
    """The project modules a file imports, without the `peer_outcomes.` prefix (`pipelines.marts`, …)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    project = {n.removeprefix("peer_outcomes.") for n in names if n.startswith("peer_outcomes.")}
    return {n for n in project if n.split(".")[0] in LAYERS}


def crossings(layer: str, modules: set[str], table: dict[str, set[str]]) -> set[str]:
    """The imported modules that the layer's row does not allow (a module or any module under it)."""
    ok = table[layer]
    bad = {m for m in modules if not any(m == a or m.startswith(f"{a}.") for a in ok)}
    # `from peer_outcomes.pipelines import config` names `pipelines` and `pipelines.config`: judge the module
    return {m for m in bad if not any(o.startswith(f"{m}.") for o in modules if o not in bad)}


def test_the_table_in_the_architecture_doc_is_read():
    table = allowed_imports()
    assert set(table) == set(LAYERS)
    assert table["analysis"] == {"analysis", "pipelines.config", "pipelines.warehouse", "pipelines.errors"}
    assert "dashboard" not in table["analysis"] | table["pipelines"] | table["notebooks"]


def test_a_forbidden_import_is_found_even_inside_a_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from peer_outcomes.pipelines import config\n\ndef f():\n"
                      "    from peer_outcomes.pipelines.marts import load_spec\n    import peer_outcomes.dashboard.charts\n")  # fmt: skip
    found = crossings("analysis", imported_modules(module), allowed_imports())
    assert found == {"pipelines.marts", "pipelines.marts.load_spec", "dashboard.charts"}


FILES = sorted(
    p.relative_to(ROOT).as_posix()
    for layer in LAYERS
    for p in (ROOT / layer).rglob("*.py")
    if ".ipynb_checkpoints" not in p.parts and p.relative_to(ROOT).as_posix() not in WIRES_EVERY_LAYER
)


@pytest.mark.parametrize("path", FILES)
def test_every_module_imports_only_what_its_layer_may(path):
    layer = path.split("/")[0]
    found = crossings(layer, imported_modules(ROOT / path), allowed_imports())
    assert not found, f"{path} imports {sorted(found)}, which docs/architecture.md does not allow for {layer}"
