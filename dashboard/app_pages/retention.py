"""Retention: Kaplan–Meier time to disengagement by group, numbers at risk, rates and the cohort heatmap.

Two tabs (`widgets.sections`): the curve with its rates and numbers at risk, and the enrollment-month
heatmap; a page switch or a filter change computes and draws the open one only.
"""

import streamlit as st

from peer_outcomes.dashboard import data, figures, widgets
from peer_outcomes.pipelines.config import HEADLINE_DAYS

st.title("Retention")
widgets.intro(
    f"Retention is the time from enrollment until a participant disengages: a dropout exit, or {data.gap_text()} "
    "without an attended session (dated at the last one). Other exits and the data cutoff censor.",
    "retention",
)
f = widgets.filters()
by = widgets.compare_by("ret_by")
pub = data.retention(f, by)
widgets.notes(pub)


def curve() -> None:
    widgets.chart(figures.RETENTION, pub)
    *first, last = HEADLINE_DAYS
    st.subheader(f"Still engaged at {', '.join(map(str, first))} and {last} days")
    widgets.table(pub, "rates", "retention_rates", show=True, static=True)
    st.subheader("Numbers at risk and medians")
    widgets.table(pub, "at_risk", "retention_at_risk", show=True, static=True)
    widgets.table(pub, "summary", "retention_medians", show=True, static=True)


def cohorts() -> None:
    st.subheader("By enrollment month")
    cells = data.cohort_retention(f)
    widgets.notes(cells)
    if not cells.empty:
        widgets.chart(figures.COHORTS, cells)


if not pub.empty:
    widgets.sections("retention", curve, cohorts)
widgets.methods(pub)
