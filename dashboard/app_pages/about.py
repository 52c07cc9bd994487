"""About these numbers: what each page answers and how to read it, in plain words (text only, no data)."""

import streamlit as st

from peer_outcomes.analysis import disclosure
from peer_outcomes.dashboard.app_pages import PAGES

st.title("About these numbers")
st.markdown(
    "These pages show how long people stay engaged with the program and how long they stay free of "
    "relapse, for the population chosen in the sidebar. Each page answers one question:\n\n"
    + "\n".join(f"- **{p.title}**: {p.question}" for p in PAGES if p.question)
)
st.subheader("Why the numbers are not a simple percentage")
st.markdown(
    "Many people in the program are still enrolled: we do not yet know how long they will stay. A plain "
    "“percent retained” either leaves them out or counts them as staying forever, and both mislead. These "
    "pages use survival analysis instead: each person counts for exactly as long as we have seen them, "
    "so a share “still engaged at 90 days” is estimated from everyone who could have reached 90 days. "
    "The shaded band around a curve is its 95% confidence interval: with more people it gets narrower."
)
st.subheader("Privacy")
st.markdown(
    f"{disclosure.policy_sentence()} Counts are rounded, curves stop where few people remain, and groups "
    "too small to publish are left out, so no number on these pages, in a download or in the evidence pack "
    "can be worked back to a single person. The dashboard reads pseudonymized data only: no names, no "
    "dates of birth, no case-system ids."
)
