"""Malformed CSVs never crash the loader: it loads with quarantine, or stops with one UserError sentence."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from peer_outcomes.pipelines.errors import UserError
from peer_outcomes.pipelines.etl import run_etl

HEADER = "participant_id,site,enrolled_on,age_at_enrollment,gender"
cell = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["P1", "p1 ", "2025-01-06", "2025-02-30", "34", "-1", "female", "", '"', '""', "a\nb", "\r"]
    ),
    st.text(min_size=3000, max_size=5000, alphabet='xyz,"'),  # huge fields, with commas and quotes
)
row = st.lists(cell, min_size=0, max_size=7).map(lambda cells: ",".join(cells))
text_csv = st.builds(
    lambda header, rows, newline: header + newline + newline.join(rows) + newline,
    st.sampled_from([HEADER, HEADER, HEADER + ",notes", HEADER.upper(), "participant_id,site", "", "a,a,a"]),
    st.lists(row, max_size=15),
    st.sampled_from(["\n", "\r\n", "\r"]),
)
encoded = st.builds(
    lambda text, encoding, bom: (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding, errors="replace"),
    text_csv,
    st.sampled_from(["utf-8", "utf-8", "utf-8", "latin-1", "utf-16", "cp1252"]),
    st.booleans(),
)
payload = st.one_of(encoded, encoded, st.binary(max_size=400))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(participants=payload, attendance=st.one_of(st.none(), payload))
def test_malformed_csv_loads_with_quarantine_or_raises_user_error(participants, attendance):
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export"
        export.mkdir()
        (export / "participants.csv").write_bytes(participants)
        if attendance is not None:
            (export / "attendance.csv").write_bytes(attendance)
        db = Path(tmp) / "wh.duckdb"
        try:
            report = run_etl(export, db)
        except UserError as exc:
            event("refused with a sentence")
            message = str(exc)
            assert message and "\n" not in message and "Traceback" not in message
            assert not db.exists()
            return
        event("loaded" + (" with quarantine" if report.rows_quarantined else ""))
        for f in report.files:
            assert f.rows_read == f.rows_loaded + f.rows_quarantined
        assert db.exists() and not list(Path(tmp).glob("*.building-*"))
