"""Malformed mapping.yaml files never crash or hang the loader: a Mapping, or one MappingError sentence.

Fuzzes the mapping as test_etl_property.py fuzzes CSVs: documents built from the real sections, entity and
column names mixed with junk (wrong types, unknown keys, odd strings, bounds as text), and raw YAML text
with anchors, aliases, tags and broken syntax.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from peer_outcomes.pipelines.errors import UserError
from peer_outcomes.pipelines.etl import run_etl
from peer_outcomes.pipelines.mapping import Mapping, MappingError, load_mapping

TINY = Path(__file__).parents[1] / "fixtures" / "exports" / "tiny"
NAMES = ["participants", "sessions", "attendance", "site", "enrolled_on", "age_at_enrollment", "gender",
         "format", "score", "insurance", "dob", "Client ID", "columns", "values", "type", "min", "max"]  # fmt: skip
scalar = st.one_of(
    st.sampled_from(
        [
            *NAMES,
            "enum",
            "int",
            "bool",
            "text",
            "date",
            "%m/%d/%Y",
            "%Q%Y",
            "UTC",
            "Mars/Base",
            "ten",
            "0 or true",
            "=cmd",
            "\x00",
            "",
        ]
    ),  # fmt: skip
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.text(max_size=20),
)
value = st.recursive(
    scalar,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(NAMES), scalar), children, max_size=4),
    ),
    max_leaves=25,
)
covariate = st.fixed_dictionaries(
    {
        "name": st.one_of(st.sampled_from(["score", "insurance", "dob", "mrn", "Site"]), scalar),
        "type": st.one_of(st.sampled_from(["enum", "int", "bool", "text", "date"]), scalar),
    },  # fmt: skip
    optional={"values": value, "min": scalar, "max": scalar, "extra": scalar},
)
document = st.fixed_dictionaries(
    {},
    optional={
        "columns": st.dictionaries(st.sampled_from(NAMES), value, max_size=3),
        "values": st.dictionaries(st.sampled_from(NAMES), value, max_size=3),
        "date_formats": st.dictionaries(st.sampled_from(NAMES), value, max_size=3),
        "covariates": st.dictionaries(
            st.sampled_from(NAMES), st.one_of(st.lists(covariate, max_size=3), value)
        ),
        "timezone": scalar,
        "junk": value,
    },
)


def dump(doc: object) -> str:
    try:
        return yaml.safe_dump(doc, allow_unicode=True)
    except yaml.YAMLError:
        return "{}"


raw_text = st.one_of(
    document.map(dump),
    st.text(alphabet="abc: -[]{}&*!|>'\"\n\t#%@`,?0", max_size=200),
    st.builds(  # anchors and aliases, nested: small bombs and recursive ones
        lambda depth, width: "".join(
            f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width) if i else 'x'}]\n" for i in range(depth)
        ),
        st.integers(1, 14),
        st.integers(1, 9),
    ),
    st.sampled_from(
        ["a: &a [*a]\n", "!!python/object:os.system ls\n", "columns: !!binary AAAA\n", "- [\n" * 50]
    ),
)


def check(path: Path) -> Mapping | None:
    started = time.perf_counter()
    try:
        mp = load_mapping(path)
    except MappingError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message
        event("refused with a sentence")
        mp = None
    else:
        event("accepted")
    assert time.perf_counter() - started < 2.0
    return mp


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=raw_text)
def test_any_mapping_text_gives_a_mapping_or_one_sentence_quickly(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mapping.yaml"
        path.write_text(text)
        check(path)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=document)
def test_a_load_with_any_accepted_mapping_loads_or_stops_with_one_sentence(doc):
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export"
        export.mkdir()
        for f in TINY.iterdir():
            (export / f.name).write_bytes(f.read_bytes())
        (export / "mapping.yaml").write_text(dump(doc))
        db = Path(tmp) / "wh.duckdb"
        try:
            report = run_etl(export, db)
        except UserError as exc:
            assert "\n" not in str(exc)
            assert not db.exists()
            return
        for f in report.files:
            assert f.rows_read == f.rows_loaded + f.rows_quarantined
