"""The dashboard's shared Streamlit pieces: sidebar filters in the URL, tiles, charts with downloads.

Pages stay a few lines each by calling these. Nothing here computes or suppresses a number: frames come
from `analysis.published` already suppressed; `figures.shown` says why each hidden cell is empty.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from functools import cache
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import peer_outcomes
from peer_outcomes.analysis import disclosure
from peer_outcomes.analysis.population import Period, snap
from peer_outcomes.analysis.published import GROUPINGS, PROGRAM, Published
from peer_outcomes.analysis.queries import Filters
from peer_outcomes.dashboard import charts, data, figures, gate, words
from peer_outcomes.dashboard.app_pages import PAGES

FILTER_KEYS = ("f_preset", "f_from", "f_to", "f_sites", "f_tracks", "f_programs")


PRESET_MONTHS = (12, 3, 1)  # "Last 12 months", "Last quarter", "Last month", where the periods allow
CUSTOM = "custom"


def _months(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


def _span(steps: list[Period], i: int) -> str:
    """'Jan 2026 – Jun 2026' for periods i to the last (one month: 'Jun 2026')."""
    lo, hi = f"{steps[i].start:%b %Y}", f"{steps[-1].end:%b %Y}"
    return lo if lo == hi else f"{lo} – {hi}"


def period_presets(steps: list[Period]) -> dict[int, str]:
    """The quick choices of enrollment period: the first period each starts from -> its label.

    "All", then the latest 12, 3 and 1 months. A choice covers whole publishable periods (runs of months with
    0 or at least k people of every site and track), so it takes the fewest latest periods spanning at least
    that many months, and its label says the months it really covers: "Last 6 months (Jan 2026 – Jun 2026)"
    when the latest period alone is six months long. Choices that come out the same are offered once.
    """
    if not steps:
        return {}
    out = {0: "All"}
    for n in PRESET_MONTHS:
        i = next((i for i in range(len(steps) - 1, -1, -1) if _months(steps[i].start, steps[-1].end) >= n), 0)
        if i not in out:
            span = _months(steps[i].start, steps[-1].end)
            name = {1: "Last month", 3: "Last quarter", 12: "Last 12 months"}.get(span, f"Last {span} months")
            out[i] = f"{name} ({_span(steps, i)})"
    return out


def sidebar_filters() -> Filters:
    """Enrollment periods, sites, tracks and programs; seeded from and written back to the URL query params.

    The period is "All", a recent stretch (`period_presets`) or a range chosen by its first and last
    period. It moves in runs of whole months that each hold 0 or at least k people of every site and track
    (analysis.population), so no two choices differ by fewer than k people; sites and tracks with fewer than
    k people are not offered and are in no population (published.filter_options). Programs are offered
    only when the warehouse holds more than one, by their names.
    """
    opts = data.options()
    steps = opts["periods"]
    presets = period_presets(steps)
    if "f_seeded" not in st.session_state:  # first run of a session: the URL decides the view
        url = snap(Filters.from_query_params({k: st.query_params.get_all(k) for k in st.query_params}), steps)
        lo = next((i for i, p in enumerate(steps) if url.enrolled_from and p.start >= url.enrolled_from), 0)
        hi = next((i for i, p in enumerate(steps) if url.enrolled_to and p.end >= url.enrolled_to), len(steps) - 1)
        st.session_state.f_preset = lo if hi == len(steps) - 1 and lo in presets else CUSTOM
        st.session_state.f_from, st.session_state.f_to = lo, max(lo, hi)
        st.session_state.f_sites = [s for s in url.sites if s in opts["sites"]]
        st.session_state.f_tracks = [t for t in url.tracks if t in opts["tracks"]]
        st.session_state.f_programs = [p for p in url.programs if p in opts.get("programs", [])]
        st.session_state.f_seeded = True
    with st.sidebar:
        st.header("Population")
        i, j = _period_choice(steps, presets)
        sites = st.multiselect("Sites (all if empty)", opts["sites"], format_func=words.plain, key="f_sites") if opts["sites"] else []
        tracks = st.multiselect("Tracks (all if empty)", opts["tracks"], format_func=words.plain, key="f_tracks") if opts["tracks"] else []
        names = opts.get("program_names", {})
        programs = (st.multiselect("Programs (all if empty)", opts["programs"], format_func=lambda p: names.get(p, p),
                                   key="f_programs") if opts.get("programs") else [])  # fmt: skip
    f = Filters(
        enrolled_from=steps[i].start if i > 0 else None,
        enrolled_to=steps[j].end if steps and j < len(steps) - 1 else None,
        sites=tuple(sorted(sites)),
        tracks=tuple(sorted(tracks)),
        programs=tuple(sorted(programs)),
    )
    st.query_params.from_dict(f.to_query_params())
    st.session_state.filters = f
    return f


def compare_by(key: str) -> str | None:
    """The "Compare by" choice: the usual groupings, and Program where the sidebar offers programs."""
    choices = {**GROUPINGS, **(PROGRAM if data.options().get("programs") else {})}
    return st.selectbox("Compare by", [None, *choices], format_func=lambda g: choices.get(g, "Everyone"), key=key)


def _period_choice(steps: list[Period], presets: dict[int, str]) -> tuple[int, int]:
    """The sidebar's enrollment-period choice, as the first and last period chosen (0, 0 when none)."""
    if not steps:
        st.caption(f"No enrollment period has {disclosure.threshold()} or more participants yet, so there is none to choose.")
        return 0, 0
    if len(steps) == 1:  # one period only: nothing to choose
        st.caption(f"Enrolled {_span(steps, 0)}")
        return 0, 0
    if st.session_state.get("f_preset") not in (*presets, CUSTOM):  # a new load changed the periods
        st.session_state.f_preset = 0
    choice = st.radio("Enrolled", [*presets, CUSTOM], format_func=lambda c: presets.get(c, "Choose months…"),
                      key="f_preset", help=_PERIOD_HELP.format(k=disclosure.threshold()))  # fmt: skip
    if choice != CUSTOM:
        return choice, len(steps) - 1
    n = range(len(steps))
    for key in ("f_from", "f_to"):
        if st.session_state.get(key) not in n:
            st.session_state[key] = 0 if key == "f_from" else len(steps) - 1
    a = st.selectbox("From", n, format_func=lambda i: f"{steps[i].start:%b %Y}", key="f_from")
    b = st.selectbox("To", n, format_func=lambda i: f"{steps[i].end:%b %Y}", key="f_to")
    return min(a, b), max(a, b)


_PERIOD_HELP = (
    "Months are grouped so that every period has no one or at least {k} people of each site and track; "
    "a choice covers whole periods, so it may reach back further than its name."
)


def filters() -> Filters:
    """The filters the sidebar set on this run (all participants if none), narrowed to the signed-in role's
    sites."""
    return gate.restrict(st.session_state.get("filters", Filters()))


PLAIN = re.compile(r"^\*\*In plain words:\*\*\s*(.*?)(?:\n\n|\Z)", re.M | re.S)


def intro(text: str, section: str, doc: str = "outcomes.md") -> None:
    """One or two plain sentences defining the page's measure; under them the definition in plain words
    (the section's "In plain words" paragraph in the docs) and, for researchers, the whole section."""
    st.markdown(text)
    full = _doc_section(doc, section)
    plain = PLAIN.search(full)
    if plain:
        with st.expander("What exactly is counted"):
            st.markdown(" ".join(plain.group(1).split()))
    with st.expander(f"For researchers: the full definition (docs/{doc})"):
        st.markdown(PLAIN.sub("", full).strip() or f"See docs/{doc}, section “{section}”.")


def _doc_section(doc: str, section: str) -> str:
    """The text under the docs heading that names `section` (the docs stay the one source of definitions)."""
    path = peer_outcomes.doc(doc)
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8")
    m = re.search(rf"^(#+) [^\n]*{re.escape(section)}[^\n]*\n(.*?)(?=^\1 |\Z)", text, re.M | re.S | re.I)
    return m.group(2).strip() if m else ""


def new_page() -> None:
    """Start a page run: no note has been shown on it yet (see `notes`)."""
    st.session_state["notes_shown"] = set()


def notes(pub: Published) -> None:
    """Privacy notes, e.g. groups left out because they had fewer than k people; each once per page."""
    shown = st.session_state.setdefault("notes_shown", set())
    for n in pub.notes:
        if n not in shown:
            st.info(words.plain(n))
            shown.add(n)


def methods(pub: Published) -> None:
    """The methods sentence as a caption under the page's charts, and the technical methods for researchers;
    the disclosure-control sentence that ends most of them is said once per page (`new_page`)."""
    shown = st.session_state.setdefault("notes_shown", set())
    text, rule = words.plain(pub.methods), disclosure.methods_sentence()
    if rule in shown:
        text = text.replace(rule, "").strip()
    elif rule in text:
        shown.add(rule)
    if text:
        st.caption(f"Methods: {text}")
    if pub.technical != pub.methods:  # the estimators, conventions and R equivalents, for researchers
        with st.expander("For researchers: statistical methods"):
            st.markdown(words.plain(pub.technical))


TILES_PER_ROW = 3

# The app's one style sheet: tile labels wrap instead of ending in "…" (st.metric cuts them to one line).
STYLE = """<style>
.st-key-po-preload { display: none; }
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  height: auto !important;
}
</style>"""


def style() -> None:
    """Apply the app's style sheet (once per run, from app.py)."""
    st.html(STYLE)


def preload() -> None:
    """Start loading the code of the elements the pages draw while the browser is idle (`PRELOAD`), from a
    hidden element at the foot of the sidebar (its empty slot shifts nothing there), sent on a session's
    first run only: its script keeps going once started, and later runs carry nothing more to render."""
    if element_bundles() and not st.session_state.get("preload_sent"):
        st.session_state["preload_sent"] = True
        st.sidebar.container(key="po-preload").html(PRELOAD.replace("BUNDLES", json.dumps(element_bundles())),
                                                    unsafe_allow_javascript=True)  # fmt: skip


# Streamlit fetches and compiles the code of an element kind (a chart, a tile, a table, a download button) the
# first time a page of the browser tab shows one: plotly.js alone is 4.7 MB, 0.3-0.4 s of the browser's main
# thread, paid on the click by whichever chart page came first after a text page (the Overview after "About
# these numbers"). Imported once the page's run is over and the browser idle (a cold page loads what it draws
# itself first), from the URLs Streamlit's own lazy imports resolve to, the modules are compiled once and
# Streamlit's imports find them; once per tab, whatever the reruns.
PRELOAD = """<script>
if (!window.poPreload) {
  window.poPreload = true;
  const load = async () => {
    const entry = document.querySelector('script[type="module"][src*="static/js/index."]');
    if (entry) await Promise.all(BUNDLES.map(name => import(new URL("./" + name, entry.src).href).catch(() => {})));
  };
  const wait = () => document.querySelector('[data-test-script-state="notRunning"]')
    ? (window.requestIdleCallback || setTimeout)(load, {timeout: 2000}) : setTimeout(wait, 100);
  wait();
}
</script>"""

# The element kinds the pages draw (Streamlit's bundle names), all fetched at once: charts, tiles, downloads, the
# "Computing…" spinner, the "Compare by" choice and static tables.
ELEMENTS = ("PlotlyChart", "Metric", "DownloadButton", "Spinner", "Selectbox", "Table")


@cache
def element_bundles() -> tuple[str, ...]:
    """The file names of the bundles of `ELEMENTS` in this Streamlit (`PlotlyChart.<hash>.js`, ...), those it has."""
    folder = Path(st.__file__).parent / "static" / "static" / "js"
    return tuple(found[0].name for kind in ELEMENTS if (found := sorted(folder.glob(f"{kind}.*.js"))))


def tiles(frame: pd.DataFrame) -> None:
    """Headline numbers as metric tiles; an empty one says why, as the published layer recorded it: "hidden"
    or "not reached yet", with the reason in full in its tooltip."""
    per_row = TILES_PER_ROW
    cols = [c for start in range(0, len(frame), per_row) for c in st.columns(per_row)][: len(frame)]
    status = disclosure.cell_status(frame, "value")
    for col, (i, row) in zip(cols, frame.iterrows(), strict=True):  # rows of three: labels never cut off
        why = status[i] if pd.isna(row["value"]) else ""
        value = _fmt(row["value"], row["unit"]) if not why else (
            disclosure.status_words(why) if why == disclosure.NOT_REACHED else "hidden")
        col.metric(row["label"], value, help=disclosure.status_words(why).capitalize() + "." if why else None)
        if row.get("of", ""):  # the denominator in words: "of 1,235 people in the peer mentoring track"
            col.caption(words.plain(row["of"]))


def _fmt(value: float, unit: str) -> str:
    if pd.isna(value):
        return {"people": disclosure.mask_text(), "days": disclosure.status_words(disclosure.NOT_REACHED)}.get(unit, "hidden")
    if unit == "share":
        return f"{value:.0%}"
    if unit == "people":
        return f"{value:,.0f}"
    if unit == "days":
        return f"{value:,.0f} days"
    return f"{value:.1f}"


@st.cache_resource(show_spinner=False)
def _image_server() -> bool:
    """One headless chromium for every PNG/SVG download of this process (~0.2 s an image, not ~3 s)."""
    import kaleido

    kaleido.start_sync_server(silence_warnings=True)
    return True


def _image(fig: go.Figure, fmt: str) -> bytes:
    _image_server()
    return charts.to_image(fig, fmt)


def chart(figure: figures.Figure, pub: Published, show_table: bool = False) -> None:
    """Show one of the dashboard's figures with PNG/SVG downloads (rendered on click) and a CSV of its data,
    and (`show_table`) that data as a table under it."""
    fig = figure.draw(pub)
    name = figure.name
    if not charts.has_values(fig):  # an empty axis tells a director nothing: say why instead
        st.info(f"{figure.title}: not drawn, because every value is zero or describes fewer than {disclosure.threshold()} people.")
        return
    st.plotly_chart(fig, key=f"chart_{name}", config={"displaylogo": False})
    row = st.container(horizontal=True)
    row.download_button("PNG", data=gate.downloaded(f"{name}.png", lambda: _image(fig, "png")), file_name=f"{name}.png",
                      mime="image/png", key=f"png_{name}", on_click="ignore")  # fmt: skip
    row.download_button("SVG", data=gate.downloaded(f"{name}.svg", lambda: _image(fig, "svg")), file_name=f"{name}.svg",
                      mime="image/svg+xml", key=f"svg_{name}", on_click="ignore")  # fmt: skip
    table(pub, figure.frame, name, column=row)
    if show_table:
        st.table(_pretty(figures.shown(pub, figure.frame)), hide_index=True)


def sections(name: str, *parts: Callable[[], None]) -> None:
    """Page `name`'s sections as tabs (`Page.sections`, drawn by `parts` in that order), of which only the open
    one runs: a page switch or a filter change computes, sends and draws one section's charts and tables, not
    the whole page's. The open tab is kept for the session (`page.section_key`), and every chart is one click
    away."""
    page = next(p for p in PAGES if p.name == name)
    if len(parts) != len(page.sections):
        raise ValueError(f"{name}: {len(parts)} parts for the sections {page.sections}")
    for tab, part in zip(st.tabs(page.sections, key=page.section_key, on_change="rerun"), parts, strict=True):
        if tab.open is not False:  # None: a tab that does not track state shows its content
            with tab:
                part()


def _is_percent(column: str) -> bool:
    """Estimates shown as percentages: not hazard ratios, medians (days) or rates per 100 weeks."""
    return figures.is_estimate(column) and not column.startswith(("hr", "median")) and "per_100" not in column


def table(pub: Published, frame: str, name: str | None = None, show: bool = False, column=None, static: bool = False) -> None:
    """A CSV download of one published frame, optionally shown as a table (`static`: as plain HTML, which the
    browser lays out in a few milliseconds; a few rows need no scrolling, sorting or canvas grid).

    The columns that may be hidden come from `figures.HIDDEN`; each empty cell says why (`figures.shown`).
    """
    name = name or frame
    shown = figures.shown(pub, frame)
    if show and static:
        st.table(_pretty(shown), hide_index=True)
    elif show:
        st.dataframe(_pretty(shown), hide_index=True, width="stretch")
    csv = disclosure.csv_text(shown).encode()
    (column or st).download_button("CSV", data=gate.downloaded(f"{name}.csv", csv), file_name=f"{name}.csv",
                                   mime="text/csv", key=f"csv_{name}", on_click="ignore")  # fmt: skip


def _missing_word(column: str) -> str:
    """An empty cell in a column the small-cell rule never blanks: a median the curve has not come down to, a
    model term the data cannot estimate, or else a hidden number."""
    if column.startswith("median"):
        return disclosure.status_words(disclosure.NOT_REACHED)
    if column.startswith("hr") or column == "p":
        return "not estimable"
    return disclosure.status_words("")


def _cell(v: object, column: str) -> str:
    if isinstance(v, str):
        return v
    if pd.isna(v):
        return _missing_word(column)
    if _is_percent(column):
        return f"{v:.1%}"
    if column.startswith("hr"):
        return f"{v:.2f}"
    if "per_100" in column:  # a rate per 100 weeks or mentor-months: 1.5, not 2
        return f"{v:,.1f}"
    if column == "p":
        return f"{v:.3f}"
    return f"{v:,.0f}"


def _pretty(df: pd.DataFrame) -> pd.DataFrame:
    """Text for the on-page table: estimates as percentages, counts with thousands separators, and a word
    for every empty cell (never "None" or "nan")."""
    out = words.plain_values(df.drop(columns="term") if {"term", "label"} <= set(df.columns) else df)  # label says it
    for c in out.columns:
        text = out[c].dtype == object or pd.api.types.is_string_dtype(out[c])
        numeric = pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c])
        whole = numeric and bool((out[c].dropna() % 1 == 0).all())  # counts with separators: 1,234
        if _is_percent(str(c)) or out[c].isna().any() or whole or (text and out[c].map(lambda v: isinstance(v, str)).any()):
            out[c] = out[c].map(lambda v, col=str(c): _cell(v, col))
    out.columns = [words.header(str(c)) for c in out.columns]
    return out
