"""Retention: Kaplan–Meier time to disengagement by group, numbers at risk, rates and the cohort heatmap."""

import streamlit as st

from peer_outcomes.analysis.published import GROUPINGS
from peer_outcomes.dashboard import charts, data, widgets

st.title("Retention")
widgets.intro(
    "Retention is the time from enrollment until a participant disengages: a dropout exit, or 30 days "
    "without an attended session (dated at the last one). Other exits and the data cutoff censor.",
    "retention",
)
f = widgets.filters()
by = st.selectbox("Compare by", [None, *GROUPINGS], format_func=lambda g: GROUPINGS.get(g, "Everyone"), key="ret_by")
pub = data.retention(f, by)
widgets.notes(pub)
if not pub.empty:
    fig = charts.km_curve(pub.frames["curve"], "Retention: share still engaged", pub.population)
    widgets.chart(fig, pub.frames["curve"], "retention_curve")
    st.subheader("Still engaged at 30, 90, 180 and 365 days")
    widgets.table(pub.frames["rates"], "retention_rates", ("survival", "lower_95", "upper_95"), show=True)
    st.subheader("Numbers at risk (rounded to 5) and medians")
    widgets.table(pub.frames["at_risk"], "retention_at_risk", ("day_0", "day_30", "day_90", "day_180", "day_365"), show=True)
    widgets.table(pub.frames["summary"], "retention_medians", ("n", "events"), show=True)
    cells = data.cohort_retention(f)
    if not cells.empty:
        st.subheader("By enrollment month")
        widgets.notes(cells)
        fig = charts.cohort_heatmap(cells.frames["cells"], "Share still engaged by enrollment month", cells.population)
        widgets.chart(fig, cells.frames["cells"], "retention_cohorts", ("survival", "lower_95", "upper_95"))
widgets.methods(pub)
