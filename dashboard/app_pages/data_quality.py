"""Data quality: loads, quarantined rows by reason and file, freshness, and missing optional fields."""

import streamlit as st

from peer_outcomes.dashboard import data, figures, widgets

st.title("Data quality")
widgets.intro(
    "What the last loads read, loaded and set aside. Rows that break the data contract are quarantined with "
    "file, line, column and reason (values are never shown here); this page covers every load, not a filter.",
    "Checks and the quarantine",
    doc="data-contract.md",
)
pub = data.data_quality()
widgets.table(pub, "freshness", show=True, static=True)
st.subheader("Loads")
widgets.table(pub, "batches", "load_batches", show=True, static=True)
st.subheader("Quarantined rows")
if pub.frames["quarantine"].empty:
    st.success("No rows were quarantined.")
else:
    widgets.chart(figures.QUARANTINE, pub)
    widgets.table(pub, "quarantine", "quarantine_by_file", show=True, static=True)
st.subheader("Missing optional fields")
widgets.chart(figures.MISSING, pub)
widgets.methods(pub)
