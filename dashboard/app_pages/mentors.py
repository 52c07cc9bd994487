"""Mentors & matching: caseloads, certification, time to first match, rematches, outcomes by match."""

import streamlit as st

from peer_outcomes.dashboard import charts, data, widgets

st.title("Mentors & matching")
widgets.intro(
    "How mentors' caseloads, certification and the fit of a match (same gender, same substance) relate to "
    "participants' retention and relapse. A rematch is any match after a participant's first.",
    "match_features",
)
f = widgets.filters()
pub = data.mentors(f)
widgets.notes(pub)
if not pub.empty:
    fr = pub.frames
    a, b = st.columns(2)
    with a:
        fig = charts.bars(fr["caseloads"], "active_mentees", "n_mentors", "Mentors by active caseload", pub.population,
                          "Participants with an open match", "Mentors")  # fmt: skip
        widgets.chart(fig, fr["caseloads"], "mentor_caseloads", ("n_mentors",))
    with b:
        fig = charts.bars(fr["rematches"], "rematches", "n", "Matched participants by number of rematches",
                          pub.population, "Rematches", "Participants")  # fmt: skip
        widgets.chart(fig, fr["rematches"], "rematches", ("n",))
    st.subheader("Certification and time to first match")
    widgets.table(fr["coverage"], "certification_coverage", ("n_matched", "n_certified", "share_certified"), show=True)
    widgets.table(fr["time_to_match"], "time_to_first_match", show=True)
    st.subheader("Outcomes by match features")
    feat = fr["by_feature"]
    a, b = st.columns(2)
    with a:
        fig = charts.bars(feat, "feature", "retained_90", "Still engaged at 90 days by match feature",
                          pub.population, "Match feature", "Still engaged (%)", percent=True, colour="level")  # fmt: skip
        widgets.chart(fig, feat, "match_features", ("retained_90", "relapse_free_180"))
    with b:
        fig = charts.bars(feat, "feature", "relapse_free_180", "Relapse-free at 180 days by match feature",
                          pub.population, "Match feature", "Relapse-free (%)", percent=True, colour="level")  # fmt: skip
        widgets.chart(fig, feat, "match_features_relapse", ("retained_90", "relapse_free_180"))
widgets.methods(pub)
