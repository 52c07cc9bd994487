"""mapping.yaml: renames, recodes, date formats and covariates, and one sentence for every mistake in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from peer_outcomes.pipelines.mapping import MappingError, load_mapping, parse_mapping

FIXTURES = Path(__file__).parents[1] / "fixtures"


def test_fixture_mapping_renames_recodes_and_declares_a_covariate():
    mp = load_mapping(FIXTURES / "exports" / "mapped" / "mapping.yaml")
    assert mp.rename("participants", "Client ID") == "participant_id"
    assert mp.rename("participants", " client id ") == "participant_id"  # spacing and case in headers
    assert (
        mp.rename("participants", "Gender") == "gender"
    )  # unmapped headers match contract names lower-cased
    assert mp.recodes("sessions", "format") == {"grp": "group", "1:1": "one_on_one"}
    assert mp.date_formats["participants"]["enrolled_on"] == "%m/%d/%Y"
    (insurance,) = mp.covariates["participants"]
    assert (insurance.name, insurance.kind, insurance.values) == (
        "insurance",
        "enum",
        ("medicaid", "private", "none"),
    )
    assert [c.name for c in mp.columns_of("participants")][-1] == "insurance"


@pytest.mark.parametrize(
    ("doc", "sentence"),
    [
        (
            {"columns": {"clients": {"ID": "participant_id"}}},
            "mapping.yaml: `columns` names an unknown entity 'clients' (known: participants, mentors, matches, "
            "sessions, attendance, milestones, substance_use, exits).",
        ),
        (
            {"columns": {"participants": {"Client Name": "full_name"}}},
            "mapping.yaml: columns.participants renames 'Client Name' to 'full_name', which is not a column of "
            "participants (declare it under covariates to load it).",
        ),
        (
            {"values": {"sessions": {"format": {"Grp": "grop"}}}},
            "mapping.yaml: values.sessions.format recodes 'Grp' to 'grop', which is not one of one_on_one, group, "
            "online, workshop.",
        ),
        (
            {"date_formats": {"participants": {"site": "%d.%m.%Y"}}},
            "mapping.yaml: date_formats.participants.site is not a date column of participants.",
        ),
        (
            {"date_formats": {"participants": {"enrolled_on": "DD/MM/YYYY"}}},
            'mapping.yaml: date_formats.participants.enrolled_on must be a strftime format such as "%m/%d/%Y".',
        ),
        (
            {"covariates": {"participants": [{"name": "email", "type": "text"}]}},
            "mapping.yaml: covariates.participants: 'email' looks like a direct identifier and cannot be loaded.",
        ),
        (
            {"covariates": {"participants": [{"name": "insurance", "type": "enum"}]}},
            "mapping.yaml: covariates.participants: 'insurance' is an enum and needs a list of `values`.",
        ),
        (
            {"covariates": {"participants": [{"name": "site", "type": "text"}]}},
            "mapping.yaml: covariates.participants: 'site' is already a column of participants.",
        ),
        (
            {"renames": {}},
            "mapping.yaml has an unknown section 'renames' (known: columns, values, date_formats, covariates).",
        ),
    ],
)
def test_mapping_mistake_is_one_sentence(doc, sentence):
    with pytest.raises(MappingError) as err:
        parse_mapping(doc)
    assert str(err.value) == sentence


def test_invalid_yaml_names_the_line(tmp_path):
    bad = tmp_path / "mapping.yaml"
    bad.write_text("columns:\n  participants: {a: b\n")
    with pytest.raises(MappingError, match=r"^mapping.yaml is not valid YAML \(near line \d+\)\.$"):
        load_mapping(bad)


def test_renaming_to_a_declared_covariate_is_allowed():
    mp = parse_mapping(
        {
            "columns": {"participants": {"Payer": "insurance"}},
            "covariates": {"participants": [{"name": "insurance", "type": "enum", "values": ["a", "b"]}]},
        }
    )
    assert mp.rename("participants", "Payer") == "insurance"
