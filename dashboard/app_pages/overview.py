"""Overview: headline numbers and the retention curve for the selected population."""

import streamlit as st

from peer_outcomes.dashboard import data, figures, widgets

st.title("Program outcomes at a glance")
widgets.intro(
    "How many people the program enrolled, how long they stay engaged, and how many stay free of relapse. "
    f"“Engaged” ends at a dropout exit or a gap of {data.gap_text()} without an attended session.",
    "retention",
)
f = widgets.filters()
pub = data.headline(f)
widgets.notes(pub)
if not pub.empty:
    widgets.tiles(pub.frames["tiles"])
    ret = data.retention(f)
    widgets.chart(figures.RETENTION, ret)
widgets.methods(pub)
