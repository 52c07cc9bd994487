"""The dashboard's entry script: page navigation and the sidebar filters every page honours.

Run with `peer-outcomes dashboard` (binds 127.0.0.1, read-only warehouse). Pages live in app_pages/ and
read like their layout: intro, one data call, one chart call, a caption.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from peer_outcomes.analysis import disclosure
from peer_outcomes.dashboard import widgets
from peer_outcomes.dashboard.app_pages import PAGES
from peer_outcomes.pipelines.errors import UserError

HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="Peer mentoring outcomes", layout="wide", initial_sidebar_state="expanded")

nav = st.navigation([st.Page(HERE / p.script, title=p.title, default=p is PAGES[0]) for p in PAGES])
widgets.new_page()
try:
    widgets.sidebar_filters()
    st.sidebar.caption(f"{disclosure.policy_sentence()} Data: pseudonymized warehouse.")
    nav.run()
except UserError as exc:  # a missing warehouse, a selection a model cannot use: one plain sentence
    st.error(str(exc))
