"""Engagement: attendance and no-show rates by week and format, and relapse by the previous week's dose.

One chart per tab (`widgets.sections`): a page switch or a filter change draws the open one only.
"""

import streamlit as st

from peer_outcomes.dashboard import data, figures, widgets

st.title("Engagement")
widgets.intro(
    "Attendance rate is attended sessions over sessions a participant was expected at, per week and format "
    "(one-on-one, group, online, workshop); no-show rate likewise. Dose is sessions attended per week.",
    "attendance_weekly",
)
f = widgets.filters()
pub = data.engagement(f)
widgets.notes(pub)


def attendance() -> None:
    widgets.chart(figures.ATTENDANCE, pub)


def no_shows() -> None:
    widgets.chart(figures.NO_SHOW, pub)


def dose() -> None:
    widgets.chart(figures.DOSE, pub)
    if not pub.frames["dose_cox"].empty:
        widgets.table(pub, "dose_cox", show=True, static=True)


# Every tab is about participants: with none to show, the note above says why, and no tab stands empty.
if not pub.empty:
    widgets.sections("engagement", attendance, no_shows, dose)
widgets.methods(pub)
