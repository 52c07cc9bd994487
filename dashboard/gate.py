"""Sign-in in the app: who is here, what they may see, and the audit of what they view.

`admit()` runs first on every script run (app.py). Without `--auth` (no `PEER_OUTCOMES_AUTH`) the
dashboard is local and everyone at the machine sees everything. With it, a visitor signs in through the
program's identity provider (`st.login`); a signed-in user without a role gets one sentence and no
numbers. The access is kept in the session and read by `current()`: `data` and `widgets` narrow every
population with it (dashboard.auth), below the pages.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import streamlit as st

from peer_outcomes.analysis import queries
from peer_outcomes.analysis.queries import Filters
from peer_outcomes.dashboard import audit, auth
from peer_outcomes.pipelines.errors import UserError

KEY = "access"


def current() -> auth.Access:
    """This session's access (local when sign-in is off). No access yet with sign-in on means none."""
    if not os.environ.get(auth.ENV):
        return auth.LOCAL_ACCESS
    return st.session_state.get(KEY, auth.Access(email="", role=None))


def restrict(f: Filters) -> Filters:
    """`f` narrowed to the sites and programs this session may see."""
    return current().restrict(f)


def require_every_site() -> None:
    """Refuse a result about the whole warehouse (the loads' detail, all mentors) to a role limited to some
    sites or programs."""
    if current().sites:
        raise UserError("This part describes every site, so it is not shown to a site coordinator.")
    if current().programs:
        raise UserError("This part describes every program, so it is not shown to someone who sees only some programs.")


def _audit_path() -> Path | None:
    return Path(p) if (p := os.environ.get(audit.ENV)) else None


def admit() -> auth.Access:
    """Sign the visitor in and return their access, or show why not and stop the run."""
    path = os.environ.get(auth.ENV)
    if not path:
        return auth.LOCAL_ACCESS
    if not st.user.is_logged_in:
        st.session_state.pop(KEY, None)
        st.title("Peer mentoring outcomes")
        st.markdown("Sign in with your program account to see the outcomes.")
        st.button("Sign in", on_click=st.login, type="primary")
        st.stop()
    access = auth.access_for(st.user.to_dict(), auth.load_config(path))
    st.session_state[KEY] = access
    if access.role is not None and (held := _held_programs()) is not None and not access.sees_some_program(held):
        access = auth.Access(access.email, None)  # their programs are not in this warehouse (yet): nothing to see
        st.session_state[KEY] = access
    if access.role is None:
        log("denied", "")
        st.title("Peer mentoring outcomes")
        st.warning(f"You are signed in as {access.email or 'an account without an email'}, but no role has been "
                   "given to you yet: ask your administrator for access.")  # fmt: skip
        st.button("Sign out", on_click=st.logout)
        st.stop()
    return access


def _held_programs() -> list[str] | None:
    """The program codes the warehouse holds; None when it cannot be read (the pages then say why)."""
    from peer_outcomes.dashboard import data  # data imports this module

    try:
        return list(queries.programs(data.db_path())["program"])
    except (UserError, OSError, duckdb.Error):
        return None


def log(event: str, page: str, item: str = "", population: str = "") -> None:
    """Record an event of this session in the audit trail (sign-in on only)."""
    if (path := _audit_path()) is not None and (a := current()).role != auth.LOCAL:
        audit.record(path, a.email, a.role or "none", event, page, item, population)


def _population(f: Filters) -> str:
    within = f"; within sites {', '.join(f.allowed_sites)}" if f.allowed_sites else ""
    within += f"; within programs {', '.join(f.allowed_programs)}" if f.allowed_programs else ""
    return f.describe() + within


def log_view(page: str, f: Filters) -> None:
    """Record a page view once per page and population of a session, not on every widget rerun."""
    seen = (page, _population(f))
    if st.session_state.get("audit_seen") != seen:
        st.session_state["audit_seen"] = seen
        log("view", page, population=_population(f))


def downloaded(item: str, data: bytes | object) -> object:
    """A download button's data that records the download, by whom, when clicked (sign-in on only)."""
    a, page = current(), st.session_state.get("audit_page", "")
    if _audit_path() is None or a.role == auth.LOCAL:
        return data
    f = restrict(st.session_state.get("filters", Filters()))
    return audit.logged(_audit_path(), (a.email, a.role or "none"), page, item, _population(f), data)
