"""Engagement: attendance and no-show rates by week and format, and relapse by the previous week's dose."""

import streamlit as st

from peer_outcomes.dashboard import charts, data, widgets

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
    w = pub.frames["weekly"]
    fig = charts.lines(w, "week_start", "attendance_rate", "format", "Weekly attendance rate by format",
                       pub.population, "Week", "Attended (%)")  # fmt: skip
    widgets.chart(fig, w, "attendance_weekly", ("n_expected", "n_attended", "n_no_show", "attendance_rate", "no_show_rate"))
    fig = charts.lines(w, "week_start", "no_show_rate", "format", "Weekly no-show rate by format",
                       pub.population, "Week", "No-show (%)")  # fmt: skip
    widgets.chart(fig, w, "no_show_weekly", ("n_expected", "n_attended", "n_no_show", "attendance_rate", "no_show_rate"))
    st.subheader("Dose and relapse")
    dose = pub.frames["dose"]
    fig = charts.bars(dose, "sessions_last_week", "relapses_per_100_weeks", "Relapses per 100 participant-weeks",
                      pub.population, "Sessions attended the week before", "Relapses per 100 weeks")  # fmt: skip
    widgets.chart(fig, dose, "dose_response", ("n_relapses", "relapses_per_100_weeks"))
    if not pub.frames["dose_cox"].empty:
        widgets.table(pub.frames["dose_cox"], "dose_cox", show=True)
widgets.methods(pub)
