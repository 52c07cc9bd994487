"""The PDF report's layout (dashboard.report_pdf, real fpdf2): no page is left nearly blank."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from pypdf import PdfReader

from peer_outcomes.dashboard.report_pdf import Chart, Report, write_report


def _report(tmp_path: Path, rows: int, notes: int, charts: int) -> Path:
    png = tmp_path / "chart.png"
    Image.new("RGB", (2000, 880), "white").save(png)
    report = Report(
        title="Peer mentoring outcomes: evidence pack", population="N = 12 participants",
        findings=["The program enrolled 12 participants in this period."],
        headline=[(f"Measure {i}", "hidden (fewer than 11 people)", "–") for i in range(rows)],
        charts=[Chart(f"Chart {i + 1}", png, 1000, 440, "A caption.") for i in range(charts)],
        methods=["Methods paragraph."], limitations=["A limitation."],
        notes=[f"Note {i}: a privacy note about a group left out." for i in range(notes)],
    )  # fmt: skip
    path = tmp_path / "report.pdf"
    write_report(report, path)
    return path


def _pages(path: Path) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in PdfReader(path).pages]


def test_the_first_chart_follows_a_headline_table_that_ran_onto_a_second_page(tmp_path):
    # a small program hides most rows, whose "hidden (fewer than 11 people)" takes two lines: the table and its
    # notes run onto page 2, which held nothing else before
    pages = _pages(_report(tmp_path, rows=26, notes=3, charts=4))
    assert "Measure 25" in pages[1] and "Note 2" in pages[1]
    assert "Figure 1. Chart 1" in pages[1]
    assert "Figure 2. Chart 2" in pages[2] and "Figure 3. Chart 3" in pages[2]  # then two to a page


def test_charts_start_on_a_new_page_after_a_headline_table_that_fits_on_the_first(tmp_path):
    pages = _pages(_report(tmp_path, rows=5, notes=1, charts=3))
    assert "Measure 4" in pages[0] and "Figure 1" not in pages[0]
    assert "Figure 1. Chart 1" in pages[1] and "Figure 2. Chart 2" in pages[1]
    assert "Figure 3. Chart 3" in pages[2]
