"""docs/data-contract.md states the contract in code: its entity tables match pipelines/contract.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from peer_outcomes.pipelines.contract import ENTITIES, LOAD_ORDER
from peer_outcomes.pipelines.validate import MAX_TEXT

DOC = (Path(__file__).parents[2] / "docs" / "data-contract.md").read_text()


def entity_table(name: str) -> str:
    ent = ENTITIES[name]
    lines = [
        f"### {name} — {ent.note}",
        f"Natural key (a re-export upserts on it): `{', '.join(ent.key)}`."
        + (" **Required file.**" if ent.required else " Optional file."),
        "",
        "| column | type | required | rule |",
        "|---|---|---|---|",
    ]
    for c in ent.columns:
        rule = []
        if c.values:
            rule.append("one of " + ", ".join(f"`{v}`" for v in c.values))
        if c.default:
            rule.append(f"blank means `{c.default}`")
        if c.min is not None:
            rule.append(f"{c.min}–{c.max}" if c.max is not None else f"≥ {c.min}")
        if c.ref:
            rule.append(f"must exist in {c.ref.split('.')[0]}")
        if c.kind == "text":
            rule.append(f"≤ {MAX_TEXT} characters")
        if c.note:
            rule.append(c.note)
        kind = "id (text)" if c.kind == "id" else c.kind
        lines.append(f"| {c.name} | {kind} | {'yes' if c.required else ''} | {'; '.join(rule)} |")
    return "\n".join(lines)


@pytest.mark.parametrize("entity", LOAD_ORDER)
def test_data_contract_doc_lists_every_column_and_rule_of(entity):
    assert entity_table(entity) in DOC
