"""The evidence pack's PDF report: a few A4 pages a director or funder can read without the dashboard.

Layout: page 1 holds the title, population, key findings in plain words and the headline table with
95% confidence intervals; then the charts, two to a page, each with its caption (the first one follows the
headline table when that runs onto a second page); the last page holds the
methods paragraph and the limitations. It only lays out what it is given: every number arrives already
suppressed from `analysis.published`, every image already rendered by kaleido from `dashboard.charts`.
fpdf2 with a Unicode TrueType font (Liberation Sans or DejaVu Sans from Debian) so "–", "≥" and "< 11"
print as written; without one it falls back to Helvetica and replaces what Latin-1 cannot show.
"""

from __future__ import annotations

import functools
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from peer_outcomes.analysis import disclosure
from peer_outcomes.dashboard import words

if TYPE_CHECKING:
    from fpdf import FPDF
    from fpdf.image_datastructures import ImageCache

FONT_DIRS = (Path("/usr/share/fonts/truetype/liberation2"), Path("/usr/share/fonts/truetype/liberation"))
FONT_FILES = {"": "LiberationSans-Regular.ttf", "B": "LiberationSans-Bold.ttf", "I": "LiberationSans-Italic.ttf"}
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
DEJAVU_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf"}
INK = (33, 37, 41)
MUTED = (108, 117, 125)
ACCENT = (31, 119, 180)


@dataclass
class Chart:
    """One chart for the report: a title, the PNG to embed, its pixel aspect and a one-line caption."""

    title: str
    png: Path
    width_px: int
    height_px: int
    caption: str = ""
    ready: Future[None] | None = None  # done once the PNG is written and `preload`ed (the pack renders as it writes)


@dataclass
class Report:
    """Everything the PDF shows, as plain text and small tables (all numbers already published-safe)."""

    title: str
    population: str
    findings: list[str]
    headline: list[tuple[str, str, str]]  # (measure, estimate, 95% CI)
    charts: list[Chart]
    methods: list[str]  # paragraphs
    limitations: list[str]
    footer: str = ""
    notes: list[str] = field(default_factory=list)  # privacy notes (groups left out, ...)


def load_fpdf() -> None:
    """Import fpdf2 (and fontTools with it: ~0.35 s of CPU). The pack calls this on a worker thread as it
    starts, so the import runs while the main thread waits on DuckDB, not after the charts."""
    import fpdf.image_parsing  # noqa: F401 - the import is the point


def image_cache() -> ImageCache:
    """A cache of decoded images for `preload` and `write_report`."""
    from fpdf.image_datastructures import ImageCache

    return ImageCache()


@functools.cache
def _pdf_class() -> type[FPDF]:
    """The report's FPDF, with its footer (a class made on first use, so importing this module is cheap)."""
    from fpdf import FPDF

    class _PDF(FPDF):
        footer_text = ""

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(self.font_family, "", 8)
            self.set_text_color(*MUTED)
            self.cell(0, 6, self.footer_text, align="L")
            self.cell(0, 6, f"page {self.page_no()}/{{nb}}", align="R")

    return _PDF


def _font(pdf: FPDF) -> tuple[str, bool]:
    """Register a Unicode font; returns (family, unicode_ok)."""
    for folder, files in [*((d, FONT_FILES) for d in FONT_DIRS), (DEJAVU, DEJAVU_FILES)]:
        if all((folder / f).exists() for f in files.values()):
            for style, f in files.items():
                pdf.add_font("body", style, str(folder / f))
            return "body", True
    return "helvetica", False


def preload(images: ImageCache, png: Path) -> None:
    """Decode and compress a chart's PNG for the PDF ahead of `write_report` (the pack does it on a thread as
    each chart arrives: Pillow's decoder and zlib release the GIL, so this overlaps the next chart's work)."""
    from fpdf.image_parsing import preload_image

    preload_image(images, str(png))


def write_report(report: Report, path: Path, images: ImageCache | None = None) -> int:
    """Write the report as a PDF at `path`; returns the number of pages. `images`: charts `preload`ed already."""
    pdf = _pdf_class()(orientation="portrait", unit="mm", format="A4")
    if images is not None:
        pdf.image_cache = images
    pdf.footer_text = report.footer
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.set_margins(18, 16, 18)
    family, unicode_ok = _font(pdf)

    def text(s: str) -> str:  # every word of the report passes here: codes become a director's words
        s = words.plain(s)
        return s if unicode_ok else s.encode("latin-1", "replace").decode("latin-1")

    def heading(s: str, size: float = 13) -> None:
        pdf.set_font(family, "B", size)
        pdf.set_text_color(*INK)
        pdf.multi_cell(0, size * 0.5, text(s), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)

    def para(s: str, size: float = 10, color: tuple[int, int, int] = INK, style: str = "") -> None:
        pdf.set_font(family, style, size)
        pdf.set_text_color(*color)
        pdf.multi_cell(0, size * 0.48, text(s), new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.ln(1.2)

    pdf.add_page()
    pdf.set_font(family, "B", 20)
    pdf.set_text_color(*ACCENT)
    pdf.multi_cell(0, 10, text(report.title), new_x="LMARGIN", new_y="NEXT")
    para(report.population, 10, MUTED)
    pdf.ln(2)
    heading("Key findings")
    for line in report.findings:
        para(f"•  {line}")
    pdf.ln(2)
    heading("Headline numbers")
    _table(pdf, family, text, ["Measure", "Estimate", "95% CI"], report.headline, widths=(0.5, 0.2, 0.3))
    pdf.ln(1.5)
    para(f"{disclosure.not_shown_sentence()} 95% CI: the 95% confidence interval.", 8.5, MUTED, "I")
    if report.notes:
        for note in report.notes:
            para(note, 8.5, MUTED, "I")

    usable = pdf.w - pdf.l_margin - pdf.r_margin
    # When the headline table and the notes run onto a second page (small programs hide many rows, whose
    # "hidden (fewer than 11 people)" takes two lines), the first chart follows them there if it fits, rather
    # than leaving that page nearly blank; the charts then pair up from the next one.
    after_spill = 0
    for i, chart in enumerate(report.charts):
        h = usable * chart.height_px / chart.width_px
        if i == 0 and pdf.page_no() > 1 and pdf.get_y() + 6 + h + 14 <= pdf.h - 16:
            after_spill = 1
            pdf.ln(6)
        elif (i - after_spill) % 2 == 0:
            pdf.add_page()
        if pdf.get_y() + h + 14 > pdf.h - 16:
            pdf.add_page()
        if chart.ready is not None:
            chart.ready.result()
        pdf.image(str(chart.png), x=pdf.l_margin, w=usable, h=h)  # the image carries its own title
        pdf.ln(1.5)
        para(f"Figure {i + 1}. {chart.title}. {chart.caption}".strip(), 8.5, MUTED)
        pdf.ln(5)

    if report.charts and pdf.get_y() > pdf.h * 0.55:  # methods follow the last chart when there is room
        pdf.add_page()
    elif not report.charts:
        pdf.ln(4)
    heading("Methods")
    for p in report.methods:
        para(p, 9)
    pdf.ln(2)
    heading("Limitations")
    for line in report.limitations:
        para(f"•  {line}", 9)
    pdf.output(str(path))
    return pdf.pages_count


def _table(pdf: FPDF, family: str, text, header: list[str], rows: list[tuple[str, ...]], widths) -> None:
    """A plain ruled table; column widths as shares of the text width; long cells wrap within their column."""
    from fpdf import FontFace

    pdf.set_draw_color(200, 200, 200)
    pdf.set_text_color(*INK)
    pdf.set_font(family, "", 9.5)
    heading = FontFace(family=family, emphasis="BOLD", size_pt=9.5)
    with pdf.table(col_widths=widths, text_align="LEFT", borders_layout="HORIZONTAL_LINES", first_row_as_headings=True,
                   headings_style=heading, line_height=5, padding=(0.8, 1, 0.8, 0)) as table:  # fmt: skip
        for row in [header, *rows]:
            cells = table.row()
            for v in row:
                cells.cell(text(str(v)))
