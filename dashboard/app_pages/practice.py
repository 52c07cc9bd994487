"""Mentoring practice: goals, referral linkage, check-ins and relapse, supervision, incidents, graduates who mentor."""

import streamlit as st

from peer_outcomes.dashboard import data, figures_practice, widgets
from peer_outcomes.dashboard.words import plain

st.title("Mentoring practice")
widgets.intro(
    "What mentors do between sessions: the goals mentees set and meet, the resources mentors refer them to, "
    "the short check-ins that keep them accountable, and how mentors are supervised. Every share and rate "
    "comes with its denominator and a 95% confidence interval.",
    "mentoring practice",
)
f = widgets.filters()
missing = data.practice_missing_files()


def needs(part: str) -> bool:
    """Whether a part of the page has its files; if not, say in one sentence which files would fill it."""
    if part in missing:
        st.info(missing[part])
    return part not in missing


pub = data.practice(f)
widgets.notes(pub)
if not pub.empty:
    st.subheader("Are goals being set and met?")
    if needs("goals"):
        widgets.chart(figures_practice.GOALS, pub)
        widgets.table(pub, "goals_first", "goals_first_30_days", show=True)
    st.subheader("Do referrals to treatment turn into a connection?")
    if needs("referrals"):
        widgets.chart(figures_practice.REFERRALS, pub)
    st.subheader("Does regular check-in go with less relapse?")
    if needs("check_ins"):
        widgets.table(pub, "check_in_regularity", show=True)
        widgets.chart(figures_practice.CHECK_INS, pub)
        if not pub.frames["check_in_cox"].empty:
            widgets.table(pub, "check_in_cox", show=True)

mentors = data.mentor_practice()
st.subheader("Are mentors supervised as the policy says?")
st.caption(plain("Supervision, incidents and graduate mentors describe all mentors, whatever the population chosen."))
if needs("supervision"):
    widgets.chart(figures_practice.SUPERVISION, mentors)
st.subheader("Where do boundary incidents happen?")
if needs("incidents"):
    widgets.chart(figures_practice.INCIDENTS, mentors)
    widgets.chart(figures_practice.INCIDENTS_BY_SITE, mentors)
st.subheader("How many graduates now mentor?")
if not pub.empty:
    widgets.table(pub, "pathway", show=True)
widgets.table(mentors, "graduates", "graduate_mentors", show=True)
if not mentors.frames["graduates"]["n_graduates"].fillna(1).any():
    st.info("Add each graduate mentor's former participant id to mentors.csv to see how many mentors were once participants.")
widgets.methods(pub)
widgets.methods(mentors)
