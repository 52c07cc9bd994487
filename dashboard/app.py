"""The dashboard's entry script: sign-in, page navigation and the sidebar filters every page honours.

Run with `peer-outcomes dashboard` (binds 127.0.0.1, read-only warehouse; `--auth FILE` adds sign-in and
roles, dashboard/auth.py). Pages live in app_pages/ and read like their layout: intro, one data call, one
chart call, a caption. A role sees only its pages: another page's address opens the first page instead.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from peer_outcomes.analysis import disclosure
from peer_outcomes.dashboard import auth, data, gate, widgets, words
from peer_outcomes.dashboard.app_pages import PAGES
from peer_outcomes.pipelines.errors import UserError

HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="Peer mentoring outcomes", layout="wide", initial_sidebar_state="expanded")
widgets.style()

access = gate.admit()  # stops here, with a sign-in button or "ask your administrator", without a role
pages = [p for p in PAGES if p.name in access.pages]
nav = st.navigation([st.Page(HERE / p.script, title=p.title, default=p is pages[0]) for p in pages])
widgets.new_page()
try:
    f = widgets.sidebar_filters()
    st.sidebar.caption(f"{disclosure.policy_sentence()} Data: pseudonymized warehouse.")
    if access.role != auth.LOCAL:
        reach = f" for {', '.join(words.plain(s) for s in access.sites)}" if access.sites else ""
        names = data.options().get("program_names", {}) if access.programs else {}
        reach += f" in {', '.join(names.get(p, p) for p in access.programs if p in names)}" if names else ""
        st.sidebar.caption(f"Signed in as {access.email}: {auth.ROLE_TITLES[access.role]}{reach}.")
        st.sidebar.button("Sign out", on_click=st.logout)
    widgets.preload()  # the last thing in the sidebar
    page = next(p.name for p in pages if p.title == nav.title)
    st.session_state["audit_page"] = page
    gate.log_view(page, gate.restrict(f))
    nav.run()
except UserError as exc:  # a missing warehouse, a selection a model cannot use: one plain sentence
    st.error(str(exc))
