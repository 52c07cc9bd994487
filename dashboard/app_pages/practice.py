"""Mentoring practice: goals, referral linkage, check-ins and relapse, supervision, incidents, graduates who mentor.

One question per tab (`widgets.sections`): a page switch or a filter change draws the open question's charts
and tables only, not all six charts and seven tables.
"""

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


def about_participants() -> bool:
    """Whether the population has figures to show; if not, the open tab says so instead of standing empty."""
    if pub.empty:
        st.caption("Nothing about participants is shown for this population: the note above says why.")
    return not pub.empty


def goals() -> None:
    st.subheader("Are goals being set and met?")
    if about_participants() and needs("goals"):
        widgets.chart(figures_practice.GOALS, pub)
        widgets.table(pub, "goals_first", "goals_first_30_days", show=True, static=True)
    widgets.methods(pub)


def referrals() -> None:
    st.subheader("Do referrals to treatment turn into a connection?")
    if about_participants() and needs("referrals"):
        widgets.chart(figures_practice.REFERRALS, pub)
    widgets.methods(pub)


def check_ins() -> None:
    st.subheader("Does regular check-in go with less relapse?")
    if about_participants() and needs("check_ins"):
        widgets.table(pub, "check_in_regularity", show=True, static=True)
        widgets.chart(figures_practice.CHECK_INS, pub)
        if not pub.frames["check_in_cox"].empty:
            widgets.table(pub, "check_in_cox", show=True, static=True)
    widgets.methods(pub)


def all_mentors(question: str) -> None:
    st.subheader(question)
    st.caption(plain("Supervision, incidents and graduate mentors describe all mentors, whatever the population chosen."))


def supervision() -> None:
    all_mentors("Are mentors supervised as the policy says?")
    mentors = data.mentor_practice()
    if needs("supervision"):
        widgets.chart(figures_practice.SUPERVISION, mentors)
    widgets.methods(mentors)


def incidents() -> None:
    all_mentors("Where do boundary incidents happen?")
    mentors = data.mentor_practice()
    if needs("incidents"):
        widgets.chart(figures_practice.INCIDENTS, mentors)
        widgets.chart(figures_practice.INCIDENTS_BY_SITE, mentors)
    widgets.methods(mentors)


def graduates() -> None:
    all_mentors("How many graduates now mentor?")
    if not pub.empty:
        widgets.table(pub, "pathway", show=True, static=True)
    mentors = data.mentor_practice()
    widgets.table(mentors, "graduates", "graduate_mentors", show=True, static=True)
    if not mentors.frames["graduates"]["n_graduates"].fillna(1).any():
        st.info("Add each graduate mentor's former participant id to mentors.csv to see how many mentors were once participants.")
    widgets.methods(pub)
    widgets.methods(mentors)


widgets.sections("practice", goals, referrals, check_ins, supervision, incidents, graduates)
