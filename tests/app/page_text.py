"""What a reader sees on a page under AppTest, for the tests that read pages as a director would."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pandas as pd
from streamlit.testing.v1 import AppTest

from peer_outcomes.dashboard.app_pages import PAGES, Page

RAW_MISSING = re.compile(r"\b(None|nan|NaN|NaT|<NA>|inf)\b")
RAW_CODE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b(?!\.\w)")  # one_on_one, as_of, n_enrolled; not a file.csv
RESEARCHERS = "For researchers"  # the expander quoting the docs for analysts, column names and all


def page_named(name: str) -> Page:
    """The page whose script is app_pages/<name>.py."""
    return next(p for p in PAGES if p.name == name.removesuffix(".py"))


def each_section(at: AppTest, page: Page | str) -> Iterator[AppTest]:
    """`at`, already on `page`, once per section of a page that shows one section at a time (run again with
    that tab open: the others' charts and tables are not on the page then), or once as it is."""
    page = page_named(page) if isinstance(page, str) else page
    for i, label in enumerate(page.sections):
        if i:  # the first section is open when the page opens
            at.session_state[page.section_key] = label
            at.run()
        yield at
    if not page.sections:
        yield at


def tables(at: AppTest) -> list[pd.DataFrame]:
    """Every table on the page: interactive grids and static tables."""
    return [d.value for d in at.dataframe] + [t.value for t in at.table]


def visible_text(at: AppTest) -> list[str]:
    """Everything a reader sees on the page: text elements, tiles, table cells, chart titles, axes and legends."""
    out = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "success")
           for e in getattr(at, kind)]  # fmt: skip
    out += [f"{m.label} {m.value}" for m in at.metric]
    out += [df.to_string() for df in tables(at)]
    out += [e.label for e in at.expander]
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        layout = spec["layout"]
        out += [str(layout.get("title", {}).get("text", ""))]
        out += [str(layout.get(a, {}).get("title", {}).get("text", "")) for a in ("xaxis", "yaxis")]
        out += [str(t.get("name")) for t in spec["data"] if t.get("showlegend", True) and t.get("name")]
        out += [str(t.get("text")) for t in spec["data"] if t.get("mode") == "text"]
    return out


def words_shown(at: AppTest) -> list[str]:
    """The text a director reads by default: the visible text, the plain-words definitions in expanders and
    the sidebar's choices, but not the "For researchers" quotes of the docs."""
    quoted = {m.value for e in at.expander if e.label.startswith(RESEARCHERS) for m in e.markdown}
    text = [t for t in visible_text(at) if t not in quoted]
    choices = [o for kind in ("multiselect", "radio", "selectbox") for w in getattr(at.sidebar, kind) for o in w.options]
    return text + choices
