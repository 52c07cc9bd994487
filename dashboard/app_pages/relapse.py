"""Relapse & milestones: relapse-free survival, competing outcomes, the Cox model and sobriety milestones."""

import streamlit as st

from peer_outcomes.analysis.published import GROUPINGS
from peer_outcomes.dashboard import charts, data, widgets

st.title("Relapse & milestones")
widgets.intro(
    "Relapse-free time runs from enrollment to the first reported relapse (lapses are counted separately); "
    "it is censored at the last contact: exit, disengagement or the data cutoff.",
    "relapse",
)
f = widgets.filters()
by = st.selectbox("Compare by", [None, *GROUPINGS], format_func=lambda g: GROUPINGS.get(g, "Everyone"), key="rel_by")
pub = data.relapse_free(f, by)
widgets.notes(pub)
if not pub.empty:
    fig = charts.km_curve(pub.frames["curve"], "Relapse-free survival", pub.population, y_label="Relapse-free")
    widgets.chart(fig, pub.frames["curve"], "relapse_free_curve")
    widgets.table(pub.frames["rates"], "relapse_free_rates", ("survival", "lower_95", "upper_95"), show=True)
    widgets.methods(pub)

    st.subheader("What happens first: relapse, dropout or completion")
    cif = data.competing_risks(f)
    fig = charts.cif_curve(cif.frames["cif"], "Cumulative incidence of first relapse, dropout and completion", cif.population)
    widgets.chart(fig, cif.frames["cif"], "competing_risks")
    widgets.table(cif.frames["events"], "competing_events", ("n",), show=True)
    widgets.methods(cif)

    st.subheader("Who relapses sooner: Cox model")
    cox = data.relapse_cox(f)
    widgets.notes(cox)
    if not cox.frames["forest"].empty:
        fig = charts.forest(cox.frames["forest"], "Hazard ratios for relapse", cox.population)
        widgets.chart(fig, cox.frames["forest"], "relapse_cox")
    widgets.methods(cox)

    st.subheader("Sobriety milestones")
    ms = data.milestones(f)
    att = ms.frames["attainment"]
    fig = charts.bars(att, "milestone_days", "share", "Share reaching each sobriety milestone", ms.population,
                      "Milestone (days sober)", "Reached (%)", percent=True)  # fmt: skip
    widgets.chart(fig, att, "milestones", ("n_observable", "n_achieved", "share"))
    widgets.methods(ms)
