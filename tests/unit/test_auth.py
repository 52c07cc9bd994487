"""The auth config file and the role rules: what each signed-in user may see, deny by default, and one
sentence for each mistake in the file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from peer_outcomes.analysis.queries import Filters
from peer_outcomes.dashboard import auth
from peer_outcomes.dashboard.app_pages import PAGES
from peer_outcomes.pipelines.errors import UserError

SECRET = "s" * 40
CONFIG = f"""
[oidc]
issuer = "http://127.0.0.1:9999/"
client_id = "peer-outcomes"
client_secret = "client-secret-1"
cookie_secret = "{SECRET}"
redirect_uri = "http://127.0.0.1:8501/oauth2callback"

[[access]]
email = "Dana@Example.org"
role = "director"

[[access]]
group = "coordinators-north"
role = "site_coordinator"
sites = ["north", "east"]

[[access]]
email = "gabe@example.org"
role = "grant_writer"

[[access]]
email = "ana@example.org"
role = "analyst"
"""


def write(tmp_path: Path, text: str = CONFIG, mode: int = 0o600) -> Path:
    path = tmp_path / "auth.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.fixture
def cfg(tmp_path: Path) -> auth.AuthConfig:
    return auth.load_config(write(tmp_path))


@pytest.mark.parametrize(
    ("user", "role", "sites"),
    [
        ({"email": "dana@example.org"}, "director", ()),
        ({"email": "x@example.org", "groups": ["staff", "coordinators-north"]}, "site_coordinator", ("east", "north")),
        ({"email": "gabe@example.org"}, "grant_writer", ()),
        ({"email": "ana@example.org"}, "analyst", ()),
        ({"email": "nobody@example.org", "groups": ["staff"]}, None, ()),
        ({"email": "dana@example.org", "email_verified": False}, None, ()),  # an unverified email matches no rule
        ({}, None, ()),
    ],
)
def test_a_user_gets_the_first_matching_rule_else_nothing(cfg, user, role, sites):
    access = auth.access_for(user, cfg)
    assert (access.role, access.sites) == (role, sites)


def test_each_role_reaches_its_pages_and_no_role_reaches_none():
    every = [p.name for p in PAGES]
    published = [n for n in every if n != "data_quality"]
    assert list(auth.Access("a", "director").pages) == every
    assert list(auth.Access("a", "analyst").pages) == every
    assert list(auth.Access("a", "grant_writer").pages) == published
    assert list(auth.Access("a", "site_coordinator", ("north",)).pages) == published
    assert auth.Access("a", None).pages == ()
    assert list(auth.LOCAL_ACCESS.pages) == every


def test_a_coordinators_filters_carry_their_sites_whatever_was_asked():
    asked = Filters(sites=("south",), tracks=("peer_mentoring",))
    f = auth.Access("a", "site_coordinator", ("north",)).restrict(asked)
    assert f.allowed_sites == ("north",) and f.sites == ("south",)
    assert f.to_query_params() == {"site": ["south"], "track": ["peer_mentoring"]}  # the reach is never in a URL
    assert auth.Access("a", "director").restrict(asked).allowed_sites == ()


def test_streamlit_secrets_are_its_auth_section(cfg):
    section = tomllib.loads(cfg.streamlit_secrets())["auth"]
    assert section == {
        "redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": SECRET,
        "client_id": "peer-outcomes", "client_secret": "client-secret-1",
        "server_metadata_url": "http://127.0.0.1:9999/.well-known/openid-configuration",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("change", "mode", "sentence"),
    [
        (None, 0o644, "The auth config {p} holds secrets but other users can read it; run `chmod 600 {p}`."),
        (('client_secret = "client-secret-1"\n', ""), 0o600, "The auth config {p} lacks client_secret in its [oidc] section."),
        ((SECRET, "short"), 0o600, "The cookie_secret in {p} is shorter than 32 characters; use a long random string."),
        (('role = "analyst"', 'role = "admin"'), 0o600,
         "Access rule 4 in {p} has role 'admin'; use one of director, site_coordinator, grant_writer, analyst."),
        (('sites = ["north", "east"]', ""), 0o600,
         "Access rule 2 in {p} is a site_coordinator without sites; list their site codes."),
        (('role = "grant_writer"', 'role = "grant_writer"\nsites = ["north"]'), 0o600,
         "Access rule 3 in {p} gives a grant_writer sites, but a grant_writer sees every site."),
        (("[oidc]", "[oidc"), 0o600, "The auth config {p} is not valid TOML"),
        (('role = "director"', 'role = "director"\nprograms = "a"'), 0o600,
         "Access rule 1 in {p} has programs that are not a list of program codes; leave programs out for every program."),
        (('role = "director"', 'role = "director"\nprograms = []'), 0o600,
         "Access rule 1 in {p} has programs that are not a list of program codes; leave programs out for every program."),
    ],
)
def test_a_mistake_in_the_config_is_one_sentence(tmp_path, change, mode, sentence):
    text = CONFIG.replace(*change) if change else CONFIG
    path = write(tmp_path, text, mode)
    with pytest.raises(UserError) as err:
        auth.load_config(path)
    assert str(err.value).startswith(sentence.format(p=path))


def test_a_missing_config_says_where_to_read_about_it(tmp_path):
    with pytest.raises(UserError, match=r"^No auth config at .*nowhere.toml: see docs/deploy.md for its format.$"):
        auth.load_config(tmp_path / "nowhere.toml")


def test_a_rule_naming_programs_limits_every_role_to_them_and_sites_to_within_them(tmp_path):
    text = CONFIG.replace('role = "director"', 'role = "director"\nprograms = ["b", "a", "b"]').replace(
        'sites = ["north", "east"]', 'sites = ["north", "east"]\nprograms = ["a"]')
    cfg = auth.load_config(write(tmp_path, text))
    director = auth.access_for({"email": "dana@example.org"}, cfg)
    coordinator = auth.access_for({"email": "x@example.org", "groups": ["coordinators-north"]}, cfg)
    assert (director.role, director.sites, director.programs) == ("director", (), ("a", "b"))
    assert (coordinator.sites, coordinator.programs) == (("east", "north"), ("a",))
    f = coordinator.restrict(Filters(programs=("b",)))
    assert (f.allowed_sites, f.allowed_programs, f.programs) == (("east", "north"), ("a",), ("b",))
    assert f.to_query_params() == {"program": ["b"]}  # the reach is never in a URL
    assert auth.access_for({"email": "gabe@example.org"}, cfg).programs == ()  # no programs key: every program
    assert coordinator.sees_some_program(["a", "c"]) and not coordinator.sees_some_program(["b"])
    assert auth.access_for({"email": "gabe@example.org"}, cfg).sees_some_program([])
