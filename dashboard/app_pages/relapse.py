"""Relapse & milestones: relapse-free survival, competing outcomes, the Cox model and sobriety milestones.

One question per tab (`widgets.sections`): a page switch or a filter change computes and draws the open
question's chart and table only, not four charts and three grids.
"""

import streamlit as st

from peer_outcomes.dashboard import data, figures, widgets, words

st.title("Relapse & milestones")
widgets.intro(
    "Relapse-free time runs from enrollment to the first reported relapse (lapses are counted separately); "
    "it is censored at the last contact: exit, disengagement or the data cutoff.",
    "relapse",
)
f = widgets.filters()
by = widgets.compare_by("rel_by")
pub = data.relapse_free(f, by)
widgets.notes(pub)


def relapse_free() -> None:
    widgets.chart(figures.RELAPSE_FREE, pub)
    widgets.table(pub, "rates", "relapse_free_rates", show=True, static=True)
    widgets.methods(pub)


def competing() -> None:
    st.subheader("What happens first: relapse, dropout or completion")
    cif = data.competing_risks(f)
    widgets.chart(figures.COMPETING, cif)
    widgets.table(cif, "events", "competing_events", show=True, static=True)
    widgets.methods(cif)


def cox_model() -> None:
    st.subheader("Who relapses sooner: Cox model")
    cox = data.relapse_cox(f)
    widgets.notes(cox)
    if not cox.frames["forest"].empty:
        widgets.chart(figures.RELAPSE_COX, cox)
    widgets.methods(cox)


def milestones() -> None:
    st.subheader("Sobriety milestones")
    st.markdown(words.MILESTONES_START)
    ms = data.milestones(f)
    widgets.chart(figures.MILESTONES, ms, show_table=True)
    widgets.methods(ms)


if not pub.empty:
    widgets.sections("relapse", relapse_free, competing, cox_model, milestones)
