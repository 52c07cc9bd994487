"""Evidence: one click downloads the evidence pack (charts, suppressed CSVs, PDF report, manifest) as a ZIP."""

import streamlit as st

from peer_outcomes.analysis.queries import Filters
from peer_outcomes.dashboard import data, gate, widgets

st.title("Evidence pack")
st.markdown(
    "Everything a grant report or a funder needs, for the population chosen in the sidebar: the key charts "
    "as print-quality PNG and SVG, the numbers behind every chart as CSV (hidden exactly as on these pages), "
    "a short PDF report with findings, methods and limitations, and a manifest with the data version and a "
    "checksum of every file. See docs/evidence.md to verify a pack."
)


def _pack(f: Filters) -> bytes:
    """The pack, built on click: its modules (PDF, chart rendering) take ~2 s to import, so not on every visit."""
    from peer_outcomes.dashboard import evidence

    return evidence.pack_zip_bytes(data.db_path(), f)


f = widgets.filters()
pub = data.headline(f)
widgets.notes(pub)
if not pub.empty:
    st.caption(f"Population: {pub.population}. Building the pack takes a few seconds to half a minute.")
    st.download_button(
        "Download evidence pack (ZIP)",
        data=gate.downloaded("evidence-pack.zip", lambda: _pack(f)),
        file_name=f"evidence-pack-{data.version().split(':')[0][:12]}.zip",
        mime="application/zip",
        key="evidence_zip",
        on_click="ignore",
        type="primary",
    )
