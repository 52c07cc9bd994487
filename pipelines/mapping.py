"""mapping.yaml: how a program's own column names and codes become contract names.

A program's system never uses the contract's names. The mapping file (next to the export files, or given
with --mapping) renames columns, recodes values, declares date formats and declares extra covariates:

    columns:      {participants: {"Client ID": participant_id, "DOB": date_of_birth}}
    values:       {sessions: {format: {Grp: group, "1:1": one_on_one}}}
    date_formats: {participants: {enrolled_on: "%m/%d/%Y"}}
    covariates:   {participants: [{name: insurance, type: enum, values: [medicaid, private, none]}]}

The mapping itself is validated first: anything unknown ends as one sentence naming the place to fix.
Covariates are the only way to load a column the contract does not list (an allowlist, docs/privacy.md),
and a covariate may not be named like a direct identifier.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from peer_outcomes.pipelines.contract import ENTITIES, IDENTIFIER_HINTS, Column
from peer_outcomes.pipelines.errors import UserError

SECTIONS = ("columns", "values", "date_formats", "covariates")
COVARIATE_TYPES = ("enum", "int", "bool", "text", "date")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class MappingError(UserError):
    """The mapping file is malformed; the message names the section and key to fix."""


@dataclass(frozen=True)
class Mapping:
    """A validated mapping; the empty mapping changes nothing."""

    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    values: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    date_formats: dict[str, dict[str, str]] = field(default_factory=dict)
    covariates: dict[str, tuple[Column, ...]] = field(default_factory=dict)
    file_name: str | None = None
    sha256: str | None = None

    def columns_of(self, entity: str) -> tuple[Column, ...]:
        """Every column loaded for `entity`: the contract's, then the declared covariates."""
        return ENTITIES[entity].columns + self.covariates.get(entity, ())

    def rename(self, entity: str, header: str) -> str:
        """The contract name for one source header: the mapping's rename, else the header lower-cased."""
        renames = self.columns.get(entity, {})
        if header in renames:
            return renames[header]
        stripped = header.strip()
        folded = {k.strip().casefold(): v for k, v in renames.items()}
        return folded.get(stripped.casefold(), stripped.lower())

    def recodes(self, entity: str, column: str) -> dict[str, str]:
        """Value recodes for one column, keyed by the case-folded source value."""
        return {k.strip().casefold(): v for k, v in self.values.get(entity, {}).get(column, {}).items()}


def derived_sources(entity: str) -> set[str]:
    """Source columns read only to derive a contract column (date_of_birth, birth_year), never stored."""
    return {src for sources in ENTITIES[entity].derived_from.values() for src in sources}


def find_mapping(export_dir: Path, mapping: Path | None) -> Path | None:
    """The mapping file to use: the one given, else mapping.yaml (or .yml) next to the export files."""
    if mapping is not None:
        if not mapping.is_file():
            raise MappingError(f"The mapping file {mapping} does not exist.")
        return mapping
    for name in ("mapping.yaml", "mapping.yml"):
        if (export_dir / name).is_file():
            return export_dir / name
    return None


def load_mapping(path: Path | None) -> Mapping:
    """Read and validate a mapping file (None → the empty mapping)."""
    if path is None:
        return Mapping()
    raw_bytes = path.read_bytes()
    try:
        doc = yaml.safe_load(raw_bytes.decode("utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" (near line {line + 1})" if line is not None else ""
        raise MappingError(f"{path.name} is not valid YAML{where}.") from None
    return parse_mapping(doc or {}, path.name, hashlib.sha256(raw_bytes).hexdigest())


def _section(doc: dict, name: str, file_name: str) -> dict[str, Any]:
    part = doc.get(name) or {}
    if not isinstance(part, dict):
        raise MappingError(f"{file_name}: `{name}` must map entity names to settings.")
    for entity in part:
        if entity not in ENTITIES:
            known = ", ".join(ENTITIES)
            raise MappingError(f"{file_name}: `{name}` names an unknown entity '{entity}' (known: {known}).")
        if not isinstance(part[entity], dict | list):
            raise MappingError(f"{file_name}: `{name}.{entity}` must be a mapping.")
    return part


def parse_mapping(doc: Any, file_name: str = "mapping.yaml", sha256: str | None = None) -> Mapping:
    """Validate a parsed mapping document; every problem is one sentence naming where to look."""
    if not isinstance(doc, dict):
        raise MappingError(f"{file_name} must be a mapping with the sections {', '.join(SECTIONS)}.")
    unknown = [k for k in doc if k not in SECTIONS]
    if unknown:
        raise MappingError(
            f"{file_name} has an unknown section '{unknown[0]}' (known: {', '.join(SECTIONS)})."
        )

    covariates = {
        e: _covariates(e, spec, file_name) for e, spec in _section(doc, "covariates", file_name).items()
    }
    base = Mapping(covariates=covariates)

    columns: dict[str, dict[str, str]] = {}
    for entity, renames in _section(doc, "columns", file_name).items():
        allowed = {c.name for c in base.columns_of(entity)} | derived_sources(entity)
        columns[entity] = {}
        for source, target in renames.items():
            if not isinstance(target, str) or target not in allowed:
                raise MappingError(
                    f"{file_name}: columns.{entity} renames '{source}' to '{target}', which is not a column of "
                    f"{entity} (declare it under covariates to load it)."
                )
            columns[entity][str(source)] = target

    values: dict[str, dict[str, dict[str, str]]] = {}
    for entity, per_column in _section(doc, "values", file_name).items():
        by_name = {c.name: c for c in base.columns_of(entity)}
        values[entity] = {}
        for column, recodes in per_column.items():
            col = by_name.get(column)
            if col is None or col.kind in ("id", "date", "int"):
                raise MappingError(
                    f"{file_name}: values.{entity}.{column} is not a text, enum or yes/no column of {entity}."
                )
            if not isinstance(recodes, dict):
                raise MappingError(f"{file_name}: values.{entity}.{column} must map source values to codes.")
            for source, target in recodes.items():
                if col.kind == "enum" and target not in col.values:
                    raise MappingError(
                        f"{file_name}: values.{entity}.{column} recodes '{source}' to '{target}', which is not "
                        f"one of {', '.join(col.values)}."
                    )
            values[entity][column] = {str(k): str(v) for k, v in recodes.items()}

    date_formats: dict[str, dict[str, str]] = {}
    for entity, formats in _section(doc, "date_formats", file_name).items():
        dates = {c.name for c in base.columns_of(entity) if c.kind == "date"}
        if entity == "participants":
            dates.add("date_of_birth")
        date_formats[entity] = {}
        for column, fmt in formats.items():
            if column not in dates:
                raise MappingError(
                    f"{file_name}: date_formats.{entity}.{column} is not a date column of {entity}."
                )
            if not isinstance(fmt, str) or "%" not in fmt:
                raise MappingError(
                    f'{file_name}: date_formats.{entity}.{column} must be a strftime format such as "%m/%d/%Y".'
                )
            date_formats[entity][column] = fmt

    return Mapping(columns, values, date_formats, covariates, file_name, sha256)


def _covariates(entity: str, spec: Any, file_name: str) -> tuple[Column, ...]:
    where = f"{file_name}: covariates.{entity}"
    if not isinstance(spec, list):
        raise MappingError(f"{where} must be a list of {{name, type}} entries.")
    out: list[Column] = []
    taken = set(ENTITIES[entity].column_names) | derived_sources(entity)
    for item in spec:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise MappingError(f"{where} entries need a `name` and a `type`.")
        name, kind = item["name"], item.get("type")
        if not _NAME.match(name):
            raise MappingError(
                f"{where}: '{name}' is not a valid column name (lower case, digits, underscores)."
            )
        if name in taken:
            raise MappingError(f"{where}: '{name}' is already a column of {entity}.")
        if name in IDENTIFIER_HINTS or any(h in name for h in ("name", "phone", "email", "address", "ssn")):
            raise MappingError(f"{where}: '{name}' looks like a direct identifier and cannot be loaded.")
        if kind not in COVARIATE_TYPES:
            raise MappingError(
                f"{where}: '{name}' has type '{kind}'; use one of {', '.join(COVARIATE_TYPES)}."
            )
        allowed = tuple(str(v) for v in item.get("values") or ())
        if kind == "enum" and not allowed:
            raise MappingError(f"{where}: '{name}' is an enum and needs a list of `values`.")
        extra = set(item) - {"name", "type", "values", "min", "max", "description"}
        if extra:
            raise MappingError(f"{where}: '{name}' has an unknown setting '{sorted(extra)[0]}'.")
        out.append(
            Column(
                name,
                kind,
                values=allowed,
                min=item.get("min"),
                max=item.get("max"),
                note="declared covariate",
            )
        )
        taken.add(name)
    return tuple(out)
