"""Who may see what: the sign-in config file, the four roles, and the pages and sites each role reaches.

Policy (docs/deploy.md): deny by default. A signed-in user gets the first `[[access]]` rule of the config
that names their email (unless the provider says it is unverified) or one of their groups; no rule, no
numbers. A site coordinator's sites go into `Filters.allowed_sites`, and a rule's programs (any role; none =
every program) into `Filters.allowed_programs`, so every query, chart, CSV and ZIP is computed from those
sites' rows within those programs only, whatever the URL or widget state; suppression is then computed on
that population. A program the warehouse does not hold (yet) is not an error: nothing of it is shown. Without `--auth` the dashboard is local (127.0.0.1) and shows everything, as before.
No Streamlit here: the command line (`dashboard --auth`, `doctor`) and the app share it.
"""

from __future__ import annotations

import ipaddress
import json
import os
import stat
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from peer_outcomes.analysis.queries import Filters
from peer_outcomes.dashboard.app_pages import PAGES
from peer_outcomes.pipelines.errors import UserError

ENV = "PEER_OUTCOMES_AUTH"  # the config file the app reads its rules from (set by `dashboard --auth`)
ALL_PAGES = tuple(p.name for p in PAGES)
PUBLISHED_PAGES = tuple(n for n in ALL_PAGES if n != "data_quality")  # aggregates only, no load detail
ROLE_PAGES: dict[str, tuple[str, ...]] = {
    "director": ALL_PAGES,
    "site_coordinator": PUBLISHED_PAGES,
    "grant_writer": PUBLISHED_PAGES,
    "analyst": ALL_PAGES,
}
ALL_SITES_ROLES = ("director", "grant_writer", "analyst")
ROLE_TITLES = {"director": "director", "site_coordinator": "site coordinator", "grant_writer": "grant writer",
               "analyst": "analyst"}  # fmt: skip
OIDC_KEYS = ("issuer", "client_id", "client_secret", "cookie_secret", "redirect_uri")
MIN_COOKIE_SECRET = 32  # characters: Streamlit signs the session cookie with it


@dataclass(frozen=True)
class Rule:
    """One `[[access]]` entry: who (an email or a group) gets which role, for a coordinator which sites, and
    which programs (empty = every program)."""

    role: str
    email: str = ""
    group: str = ""
    sites: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuthConfig:
    """The parsed config file: the OpenID Connect client and the access rules."""

    path: Path
    oidc: dict[str, str]
    rules: tuple[Rule, ...]
    groups_claim: str = "groups"

    def streamlit_secrets(self) -> str:
        """Streamlit's `[auth]` section (TOML) for `st.login`; JSON strings are valid TOML basic strings."""
        issuer = self.oidc["issuer"].rstrip("/")
        values = {
            "redirect_uri": self.oidc["redirect_uri"],
            "cookie_secret": self.oidc["cookie_secret"],
            "client_id": self.oidc["client_id"],
            "client_secret": self.oidc["client_secret"],
            "server_metadata_url": f"{issuer}/.well-known/openid-configuration",
        }
        lines = ["[auth]", *(f"{k} = {json.dumps(v)}" for k, v in values.items())]
        if scope := self.oidc.get("scope"):
            lines.append(f"client_kwargs = {{ scope = {json.dumps(scope)} }}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Access:
    """What one user may see: a role (None = nothing), its pages, its sites (empty = every site) and its
    programs (empty = every program)."""

    email: str
    role: str | None
    sites: tuple[str, ...] = field(default_factory=tuple)
    programs: tuple[str, ...] = field(default_factory=tuple)

    @property
    def pages(self) -> tuple[str, ...]:
        if self.role == LOCAL:
            return ALL_PAGES
        return ROLE_PAGES.get(self.role or "", ())

    def restrict(self, f: Filters) -> Filters:
        """`f` limited to the sites and programs this user may see (the one place a role narrows a population)."""
        return replace(f, allowed_sites=self.sites, allowed_programs=self.programs)

    def sees_some_program(self, held: Iterable[str]) -> bool:
        """Whether any program this user may see is among the warehouse's `held` programs."""
        return not self.programs or bool(set(self.programs) & set(held))


LOCAL = "local"  # no sign-in: one person at the machine, every page and site (the 127.0.0.1 default)
LOCAL_ACCESS = Access(email="", role=LOCAL)


def is_loopback(address: str) -> bool:
    """True for an address only this machine can reach (127.0.0.1, ::1, localhost)."""
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def is_private(path: Path) -> bool:
    """True when neither group nor others may read or write the file."""
    return not stat.S_IMODE(path.stat().st_mode) & 0o077


def load_config(path: str | os.PathLike[str]) -> AuthConfig:
    """Read and check the auth config file; any mistake ends as one sentence naming it."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"No auth config at {path}: see docs/deploy.md for its format.")
    if not is_private(path):
        raise UserError(f"The auth config {path} holds secrets but other users can read it; run `chmod 600 {path}`.")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"The auth config {path} is not valid TOML ({exc}).") from None
    oidc = doc.get("oidc", {})
    missing = [k for k in OIDC_KEYS if not str(oidc.get(k, "")).strip()]
    if missing:
        raise UserError(f"The auth config {path} lacks {', '.join(missing)} in its [oidc] section.")
    if len(str(oidc["cookie_secret"])) < MIN_COOKIE_SECRET:
        raise UserError(f"The cookie_secret in {path} is shorter than {MIN_COOKIE_SECRET} characters; use a long random string.")
    if not str(oidc["redirect_uri"]).endswith("/oauth2callback"):
        raise UserError(f"The redirect_uri in {path} must end with /oauth2callback.")
    rules = tuple(_rule(r, i, path) for i, r in enumerate(doc.get("access", []), start=1))
    if not rules:
        raise UserError(f"The auth config {path} has no [[access]] rule, so nobody could see anything.")
    return AuthConfig(path, {k: str(v) for k, v in oidc.items()}, rules, str(oidc.get("groups_claim", "groups")))


def _rule(raw: object, i: int, path: Path) -> Rule:
    if not isinstance(raw, Mapping):
        raise UserError(f"Access rule {i} in {path} is not a table of email or group, role and sites.")
    role, email, group = str(raw.get("role", "")), str(raw.get("email", "")).strip(), str(raw.get("group", "")).strip()
    sites, programs = raw.get("sites", []), raw.get("programs", [])
    if role not in ROLE_PAGES:
        raise UserError(f"Access rule {i} in {path} has role '{role}'; use one of {', '.join(ROLE_PAGES)}.")
    if bool(email) == bool(group):
        raise UserError(f"Access rule {i} in {path} must name exactly one of email or group.")
    if not isinstance(sites, list) or not all(isinstance(s, str) and s for s in sites):
        raise UserError(f"Access rule {i} in {path} has sites that are not a list of site codes.")
    if not isinstance(programs, list) or not programs and "programs" in raw or not all(isinstance(p, str) and p for p in programs):
        raise UserError(f"Access rule {i} in {path} has programs that are not a list of program codes; leave programs out for every program.")
    if role == "site_coordinator" and not sites:
        raise UserError(f"Access rule {i} in {path} is a site_coordinator without sites; list their site codes.")
    if role in ALL_SITES_ROLES and sites:
        raise UserError(f"Access rule {i} in {path} gives a {role} sites, but a {role} sees every site.")
    return Rule(role, email.lower(), group, tuple(sorted(set(sites))), tuple(sorted(set(programs))))


def access_for(user: Mapping[str, object], cfg: AuthConfig) -> Access:
    """The access of a signed-in user (their ID-token claims): the first matching rule, else none."""
    email = str(user.get("email") or "").strip().lower()
    verified = user.get("email_verified", True) not in (False, "false")
    groups = user.get(cfg.groups_claim) or []
    groups = {groups} if isinstance(groups, str) else {str(g) for g in groups} if isinstance(groups, list) else set()
    for rule in cfg.rules:
        if (rule.email and verified and rule.email == email) or (rule.group and rule.group in groups):
            return Access(email, rule.role, rule.sites, rule.programs)
    return Access(email, None)
