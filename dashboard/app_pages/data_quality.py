"""Data quality: loads, quarantined rows by reason and file, freshness, and missing optional fields."""

import streamlit as st

from peer_outcomes.dashboard import charts, data, widgets

st.title("Data quality")
widgets.intro(
    "What the last loads read, loaded and set aside. Rows that break the data contract are quarantined with "
    "file, line, column and reason (values are never shown here); this page covers every load, not a filter.",
    "Checks and the quarantine",
    doc="data-contract.md",
)
pub = data.data_quality()
fr = pub.frames
widgets.table(fr["freshness"], "freshness", show=True)
st.subheader("Loads")
widgets.table(fr["batches"], "load_batches", show=True)
st.subheader("Quarantined rows")
if fr["quarantine"].empty:
    st.success("No rows were quarantined.")
else:
    fig = charts.hbars(fr["quarantine_by_reason"], "reason", "n_rows", "Quarantined rows by reason", pub.population, "Rows")
    widgets.chart(fig, fr["quarantine_by_reason"], "quarantine")
    widgets.table(fr["quarantine"], "quarantine_by_file", show=True)
st.subheader("Missing optional fields")
fig = charts.bars(fr["missing"], "field", "share_missing", "Participants missing each optional field",
                  pub.population, "Field", "Missing (%)", percent=True)  # fmt: skip
widgets.chart(fig, fr["missing"], "missing_fields", ("n_missing", "n_total", "share_missing"))
widgets.methods(pub)
