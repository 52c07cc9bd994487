"""mapping.yaml: how a program's own column names and codes become contract names.

A program's system never uses the contract's names. The mapping file (next to the export files, or given
with --mapping) renames columns, recodes values, declares date formats and declares extra covariates:

    columns:      {participants: {"Client ID": participant_id, "DOB": date_of_birth}}
    values:       {sessions: {format: {Grp: group, "1:1": one_on_one}}}
    date_formats: {participants: {enrolled_on: "%m/%d/%Y"}}
    covariates:   {participants: [{name: insurance, type: enum, values: [medicaid, private, none]},
                                  {name: dependants, type: int, min: 0, max: 20}]}
    timezone:     America/Chicago   # the program's zone: Parquet timestamps become its dates (default UTC)
    matched_tracks: [peer_mentoring]  # tracks whose people are meant to have a mentor (default: any matched)
    program:      riverside           # the program code this export loads under (etl --program wins)
    program_name: Riverside Recovery  # how pages name the program (default: its code)

The mapping itself is validated first: anything unknown ends as one sentence naming the place to fix. The
YAML is read with the safe loader, at most MAX_BYTES, MAX_ALIASES aliases and MAX_NODES nodes once aliases
are expanded, so a ten-line alias bomb fails at once instead of filling the memory.

Covariates are the only way to load a column the contract does not list (an allowlist, docs/privacy.md),
and only of two kinds: an enum with declared values (bool is the enum yes/no) or a whole number with
declared bounds. Free text and dates can identify a person whatever the column is called, so they are
refused; a covariate may not be named like a direct identifier either.
"""

from __future__ import annotations

import hashlib
import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

from peer_outcomes.pipelines.config import PROGRAM_CODE
from peer_outcomes.pipelines.contract import ENTITIES, IDENTIFIER_HINTS, Column, unsafe_code
from peer_outcomes.pipelines.errors import UserError

SECTIONS = (
    "columns", "values", "date_formats", "covariates", "timezone", "matched_tracks", "program", "program_name"
)
COVARIATE_TYPES = ("enum", "bool", "int")  # closed sets and bounded numbers only (docs/data-contract.md)
REFUSED_TYPES = ("text", "date")
MAX_BOUND = 10**12  # whole numbers are read with at most 12 digits (validate.py)
MAX_BYTES = 1024 * 1024
MAX_ALIASES = 50
MAX_NODES = 50_000
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
    timezone: str = "UTC"  # the zone in which a Parquet timestamp becomes the program's date
    matched_tracks: tuple[str, ...] = ()  # tracks meant to be matched; empty: every track in which anyone was
    program: str | None = None  # the program code the export loads under (etl --program wins); None: not said
    program_name: str | None = None  # the program's name in words, shown on pages instead of its code

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
    try:
        if path.stat().st_size > MAX_BYTES:
            raise MappingError(f"{path.name} is larger than {MAX_BYTES // 1024:,} KB; a mapping is a short text file.")
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise MappingError(f"The mapping file {path} could not be read ({exc.strerror}).") from None
    try:
        doc = _safe_yaml(raw_bytes.decode("utf-8-sig"), path.name)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" (near line {line + 1})" if line is not None else ""
        raise MappingError(f"{path.name} is not valid YAML{where}.") from None
    except RecursionError:
        raise MappingError(f"{path.name} is nested too deeply to be a mapping.") from None
    return parse_mapping(doc or {}, path.name, hashlib.sha256(raw_bytes).hexdigest())


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses a document with more than MAX_ALIASES aliases."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.n_aliases = 0

    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML's signature
        if self.check_event(yaml.AliasEvent):
            self.n_aliases += 1
            if self.n_aliases > MAX_ALIASES:
                raise _TooBig
        return super().compose_node(parent, index)


class _TooBig(Exception):
    """The YAML would expand beyond the limits."""


def _safe_yaml(text: str, file_name: str) -> Any:
    """The YAML document in `text`, parsed by the safe loader within the alias and size limits."""
    loader = _BoundedLoader(text)
    try:
        try:
            node = loader.get_single_node()
            if node is not None and _expanded_size(node) > MAX_NODES:
                raise _TooBig
        except _TooBig:
            raise MappingError(
                f"{file_name} uses too many YAML aliases (&, *) or expands to too many entries to be a mapping."
            ) from None
        return loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()


def _expanded_size(root: yaml.Node) -> int:
    """How many nodes the document has with every alias expanded (a cycle counts as too many)."""
    size: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_: set[int] = set()
    while stack:
        node, done = stack.pop()
        children = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if done:
            open_.discard(id(node))
            size[id(node)] = 1 + sum(size[id(c)] for c in children)
            if size[id(node)] > MAX_NODES:
                return size[id(node)]
            continue
        if id(node) in size:
            continue
        if id(node) in open_:
            return MAX_NODES + 1  # a recursive alias
        open_.add(id(node))
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in size)
        if any(id(c) in open_ for c in children):
            return MAX_NODES + 1
    return size[id(root)]


def _section(doc: dict, name: str, file_name: str) -> dict[str, Any]:
    part = doc.get(name) or {}
    if not isinstance(part, dict):
        raise MappingError(f"{file_name}: `{name}` must map entity names to settings.")
    for entity in part:
        if entity not in ENTITIES:
            known = ", ".join(ENTITIES)
            raise MappingError(f"{file_name}: `{name}` names an unknown entity '{entity}' (known: {known}).")
        if name == "covariates":
            continue  # a list, checked entry by entry (`_covariates`)
        if not isinstance(part[entity], dict):
            raise MappingError(f"{file_name}: `{name}.{entity}` must be a mapping.")
        if name == "values":
            for column, recodes in part[entity].items():
                if not isinstance(recodes, dict):
                    raise MappingError(f"{file_name}: values.{entity}.{column} must map source values to codes.")
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
                if unsafe_code(str(target)):
                    raise MappingError(
                        f"{file_name}: values.{entity}.{column} recodes '{source}' to a code that "
                        f"{unsafe_code(str(target))}."
                    )
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
            if not isinstance(fmt, str) or "%" not in fmt or not _is_date_format(fmt):
                raise MappingError(
                    f'{file_name}: date_formats.{entity}.{column} must be a strftime format such as "%m/%d/%Y".'
                )
            date_formats[entity][column] = fmt

    zone = doc.get("timezone", "UTC")
    if not _is_zone(zone):
        raise MappingError(
            f"{file_name}: timezone must be a time zone name such as America/Chicago or UTC, not '{zone}'."
        )
    tracks = doc.get("matched_tracks") or []
    if not isinstance(tracks, list) or not all(isinstance(t, str) and t.strip() and not unsafe_code(t) for t in tracks):
        raise MappingError(f"{file_name}: matched_tracks must be a list of track codes, e.g. [peer_mentoring].")
    program, name = doc.get("program"), doc.get("program_name")
    if program is not None and not (isinstance(program, str) and re.fullmatch(PROGRAM_CODE, program)):
        raise MappingError(
            f"{file_name}: program must be a short code of letters, digits, - and _ (up to 16), e.g. riverside."
        )
    if name is not None and not (isinstance(name, str) and name.strip() and len(name) <= 80 and not unsafe_code(name)):
        raise MappingError(f"{file_name}: program_name must be the program's name in words, up to 80 characters.")
    return Mapping(
        columns, values, date_formats, covariates, file_name, sha256, zone, tuple(tracks), program,
        name.strip() if name else None,
    )


def _is_date_format(fmt: str) -> bool:
    """Whether DuckDB's strptime understands `fmt` (it raises on an unknown code such as %Q)."""
    with duckdb.connect() as con:
        try:
            con.execute("select try_strptime('2000-01-01', ?)", [fmt])
        except duckdb.Error:
            return False
    return True


def _is_zone(zone: object) -> bool:
    if not isinstance(zone, str) or not zone or len(zone) > 64:
        return False
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


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
        if kind in REFUSED_TYPES:
            raise MappingError(
                f"{where}: '{name}' is {'free text' if kind == 'text' else 'a date'}, which can identify a person "
                "and is never loaded; declare an enum with its values or a whole number with min and max."
            )
        if kind not in COVARIATE_TYPES:
            raise MappingError(
                f"{where}: '{name}' has type '{kind}'; use one of {', '.join(COVARIATE_TYPES)}."
            )
        extra = set(item) - {"name", "type", "description"} - _SETTINGS[kind]
        if extra:
            raise MappingError(f"{where}: '{name}' has a setting '{sorted(extra)[0]}' that does not apply to type {kind}.")
        allowed = _enum_values(item, where, name) if kind == "enum" else ()
        low, high = _bounds(item, where, name) if kind == "int" else (None, None)
        out.append(Column(name, kind, values=allowed, min=low, max=high, note="declared covariate"))
        taken.add(name)
    return tuple(out)


_SETTINGS = {"enum": {"values"}, "bool": set(), "int": {"min", "max"}}


def _enum_values(item: dict, where: str, name: str) -> tuple[str, ...]:
    """An enum's declared values: a non-empty list of short, safe codes (compared lower-cased)."""
    raw = item.get("values")
    if not isinstance(raw, list) or not raw:
        raise MappingError(f"{where}: '{name}' is an enum and needs a list of `values`.")
    values = tuple(str(v).strip().lower() for v in raw)
    for v in values:
        if not v or len(v) > 100 or unsafe_code(v):
            raise MappingError(f"{where}: '{name}' has a value that is not a short code: '{v[:40]}'.")
    return values


def _bounds(item: dict, where: str, name: str) -> tuple[int, int]:
    """A whole-number covariate's bounds: both given, whole numbers, min <= max (they become SQL parameters)."""
    low, high = item.get("min"), item.get("max")
    for label, v in (("min", low), ("max", high)):
        if v is None:
            raise MappingError(f"{where}: '{name}' is a whole number and needs both `min` and `max`.")
        if isinstance(v, bool) or not isinstance(v, int) or abs(v) >= MAX_BOUND:
            raise MappingError(
                f"{where}: '{name}' has {label} '{v}', which is not a whole number below {MAX_BOUND:,}."
            )
    if low > high:
        raise MappingError(f"{where}: '{name}' has min {low} above max {high}.")
    return low, high
