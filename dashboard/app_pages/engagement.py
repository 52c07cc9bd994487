"""Engagement: attendance and no-show rates by week and format, and relapse by the previous week's dose."""

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
if not pub.empty:
    widgets.chart(figures.ATTENDANCE, pub)
    widgets.chart(figures.NO_SHOW, pub)
    st.subheader("Dose and relapse")
    widgets.chart(figures.DOSE, pub)
    if not pub.frames["dose_cox"].empty:
        widgets.table(pub, "dose_cox", show=True)
widgets.methods(pub)
