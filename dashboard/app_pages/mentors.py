"""Mentors & matching: caseloads, certification, time to first match, rematches, outcomes by match.

One question per tab (`widgets.sections`): a page switch or a filter change draws the open question's charts
or tables only, not four charts and two tables.
"""

import streamlit as st

from peer_outcomes.dashboard import data, figures, widgets

st.title("Mentors & matching")
widgets.intro(
    "How mentors' caseloads, certification and the fit of a match (same gender, same substance) relate to "
    "participants' retention and relapse. A rematch is any match after a participant's first.",
    "match_features",
)
f = widgets.filters()
pub = data.mentors(f)
widgets.notes(pub)


def caseloads() -> None:
    a, b = st.columns(2)
    with a:
        widgets.chart(figures.CASELOADS, pub)
    with b:
        widgets.chart(figures.REMATCHES, pub)


def certification() -> None:
    st.subheader("Certification and time to first match")
    widgets.table(pub, "coverage", "certification_coverage", show=True, static=True)
    widgets.table(pub, "time_to_match", "time_to_first_match", show=True, static=True)


def outcomes() -> None:
    st.subheader("Outcomes by match features")
    a, b = st.columns(2)
    with a:
        widgets.chart(figures.MATCH_RETAINED, pub)
    with b:
        widgets.chart(figures.MATCH_RELAPSE_FREE, pub)


if not pub.empty:
    widgets.sections("mentors", caseloads, certification, outcomes)
widgets.methods(pub)
