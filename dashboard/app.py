"""The dashboard's entry script: page navigation and the sidebar filters every page honours.

Run with `peer-outcomes dashboard` (binds 127.0.0.1, read-only warehouse). Pages live in app_pages/ and
read like their layout: intro, one data call, one chart call, a caption.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from peer_outcomes.dashboard import widgets
from peer_outcomes.pipelines.errors import UserError

HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="Peer mentoring outcomes", layout="wide", initial_sidebar_state="expanded")

pages = [
    st.Page(HERE / "app_pages/overview.py", title="Overview", default=True),
    st.Page(HERE / "app_pages/retention.py", title="Retention"),
    st.Page(HERE / "app_pages/relapse.py", title="Relapse & milestones"),
    st.Page(HERE / "app_pages/engagement.py", title="Engagement"),
    st.Page(HERE / "app_pages/mentors.py", title="Mentors & matching"),
    st.Page(HERE / "app_pages/data_quality.py", title="Data quality"),
]
# --- EVIDENCE PAGE SLOT: the evidence-pack work adds app_pages/evidence.py; it is listed once it exists ---
if (HERE / "app_pages/evidence.py").exists():
    pages.append(st.Page(HERE / "app_pages/evidence.py", title="Evidence"))
# --- end of evidence page slot ---

nav = st.navigation(pages)
try:
    widgets.sidebar_filters()
    st.sidebar.caption("Numbers describing fewer than 11 people are hidden (“< 11”). Data: pseudonymized warehouse.")
    nav.run()
except UserError as exc:  # a missing warehouse, a selection a model cannot use: one plain sentence
    st.error(str(exc))
