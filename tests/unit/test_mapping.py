"""mapping.yaml: renames, recodes, date formats and covariates, and one sentence for every mistake in it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

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
            "sessions, attendance, milestones, substance_use, exits, goals, check_ins, referrals, mentor_activity, incidents).",
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
            "mapping.yaml has an unknown section 'renames' (known: columns, values, date_formats, covariates, timezone, "
            "matched_tracks, program, program_name).",
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


COVARIATE = "mapping.yaml: covariates.participants: "


@pytest.mark.parametrize(
    ("covariate", "sentence"),
    [
        (
            {"name": "mrn", "type": "text"},
            "'mrn' is free text, which can identify a person and is never loaded; declare an enum with its "
            "values or a whole number with min and max.",
        ),
        (
            {"name": "family", "type": "text"},
            "'family' is free text, which can identify a person and is never loaded; declare an enum with its "
            "values or a whole number with min and max.",
        ),
        (
            {"name": "dob", "type": "date"},
            "'dob' is a date, which can identify a person and is never loaded; declare an enum with its values "
            "or a whole number with min and max.",
        ),
        (
            {"name": "score", "type": "int", "min": "ten", "max": 20},
            "'score' has min 'ten', which is not a whole number below 1,000,000,000,000.",
        ),
        (
            {"name": "score", "type": "int", "min": "0 or true", "max": 20},
            "'score' has min '0 or true', which is not a whole number below 1,000,000,000,000.",
        ),
        (
            {"name": "score", "type": "int", "min": 0},
            "'score' is a whole number and needs both `min` and `max`.",
        ),
        ({"name": "score", "type": "int", "min": 5, "max": 1}, "'score' has min 5 above max 1."),
        (
            {"name": "score", "type": "int", "min": 0, "max": 9, "values": [1]},
            "'score' has a setting 'values' that does not apply to type int.",
        ),
        (
            {"name": "payer", "type": "enum", "values": ["medicaid", "=cmd|' /C calc'!A0"]},
            "'payer' has a value that is not a short code: '=cmd|' /c calc'!a0'.",
        ),
        ({"name": "payer", "type": "varchar"}, "'payer' has type 'varchar'; use one of enum, bool, int."),
    ],
)
def test_a_covariate_must_be_an_enum_or_a_bounded_whole_number_whatever_its_name(covariate, sentence):
    with pytest.raises(MappingError) as err:
        parse_mapping({"covariates": {"participants": [covariate]}})
    assert str(err.value) == COVARIATE + sentence


def test_bounded_whole_number_and_yes_no_covariates_are_accepted():
    mp = parse_mapping(
        {
            "covariates": {
                "participants": [
                    {"name": "dependants", "type": "int", "min": 0, "max": 20},
                    {"name": "veteran", "type": "bool"},
                    {"name": "payer", "type": "enum", "values": ["Medicaid", "private"]},
                ]
            }
        }
    )
    dependants, veteran, payer = mp.covariates["participants"]
    assert (dependants.kind, dependants.min, dependants.max) == ("int", 0, 20)
    assert veteran.kind == "bool"
    assert payer.values == ("medicaid", "private")  # compared with the lower-cased cell


@pytest.mark.parametrize(
    ("doc", "sentence"),
    [
        (
            {"date_formats": {"participants": {"enrolled_on": "%Q%Y"}}},
            'mapping.yaml: date_formats.participants.enrolled_on must be a strftime format such as "%m/%d/%Y".',
        ),
        (
            {"timezone": "Mars/Olympus"},
            "mapping.yaml: timezone must be a time zone name such as America/Chicago or UTC, not 'Mars/Olympus'.",
        ),
        (
            {"values": {"participants": {"site": {"N": '=HYPERLINK("x")'}}}},
            "mapping.yaml: values.participants.site recodes 'N' to a code that begins with =, +, -, @, tab or "
            "carriage return, which a spreadsheet would run as a formula.",
        ),
        (
            {"matched_tracks": "peer_mentoring"},
            "mapping.yaml: matched_tracks must be a list of track codes, e.g. [peer_mentoring].",
        ),
        (
            {"matched_tracks": ["peer_mentoring", ""]},
            "mapping.yaml: matched_tracks must be a list of track codes, e.g. [peer_mentoring].",
        ),
    ],
)
def test_formats_zones_and_recodes_are_checked_before_any_row_is_read(doc, sentence):
    with pytest.raises(MappingError) as err:
        parse_mapping(doc)
    assert str(err.value) == sentence


def test_the_time_zone_defaults_to_utc_and_can_be_set():
    assert parse_mapping({}).timezone == "UTC"
    assert parse_mapping({"timezone": "America/Los_Angeles"}).timezone == "America/Los_Angeles"


ALIAS_BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
columns: {participants: {x: *i}}
"""
FEW_ALIASES_BOMB = "".join(
    f"{k}: &{k} [{', '.join([f'*{p}'] * 4) if p else '1, 2, 3, 4'}]\n"
    for p, k in zip(["", *"abcdefghijklmn"], "abcdefghijklmno", strict=True)
)  # 14 levels of 4 aliases each: 56 aliases would expand to 4**15 nodes


@pytest.mark.parametrize(
    "text", [ALIAS_BOMB, FEW_ALIASES_BOMB[: FEW_ALIASES_BOMB.index("n:")], "a: &a [*a]\n"]
)
def test_a_yaml_alias_bomb_fails_at_once_with_one_sentence(tmp_path, text):
    import time

    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    started = time.perf_counter()
    with pytest.raises(MappingError) as err:
        load_mapping(path)
    assert time.perf_counter() - started < 1.0
    assert str(err.value) == (
        "mapping.yaml uses too many YAML aliases (&, *) or expands to too many entries to be a mapping."
    )


def test_a_huge_mapping_file_is_refused_before_it_is_parsed(tmp_path):
    path = tmp_path / "mapping.yaml"
    path.write_text("# " + "x" * (2 * 1024 * 1024) + "\n")
    with pytest.raises(
        MappingError, match=r"^mapping.yaml is larger than 1,024 KB; a mapping is a short text file\.$"
    ):
        load_mapping(path)


def test_the_tracks_meant_to_be_matched_default_to_none_named_and_can_be_listed():
    assert parse_mapping({}).matched_tracks == ()
    assert parse_mapping({"matched_tracks": ["peer_mentoring", "aftercare"]}).matched_tracks == ("peer_mentoring", "aftercare")


@pytest.mark.parametrize(
    ("doc", "sentence"),
    [
        ({"program": "a b"}, "mapping.yaml: program must be a short code of letters, digits, - and _ (up to 16), e.g. riverside."),
        ({"program": 7}, "mapping.yaml: program must be a short code of letters, digits, - and _ (up to 16), e.g. riverside."),
        ({"program_name": "=HYPERLINK()"}, "mapping.yaml: program_name must be the program's name in words, up to 80 characters."),
    ],
)
def test_a_bad_program_in_the_mapping_is_one_sentence(tmp_path, doc, sentence):
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(MappingError) as err:
        load_mapping(path)
    assert str(err.value) == sentence


def test_the_mapping_names_the_program_and_its_name(tmp_path):
    path = tmp_path / "mapping.yaml"
    path.write_text("program: riverside\nprogram_name: ' Riverside Recovery '\n")
    mp = load_mapping(path)
    assert (mp.program, mp.program_name) == ("riverside", "Riverside Recovery")
