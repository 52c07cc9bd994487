"""Any size of program works: every page, for programs of 0 to 60 people and of one site, one enrollment month,
one track, no matches or no relapses, renders without a crash box, says in words what it cannot show and
why, draws no empty axis and prints no "None" or "nan" (real exports through the real ETL, conftest.py)."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from page_text import RAW_CODE, RAW_MISSING, each_section, tables, visible_text, words_shown
from programs import PROGRAMS
from streamlit.testing.v1 import AppTest

from peer_outcomes.dashboard.app_pages import PAGES
from peer_outcomes.dashboard.charts import has_values

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")

OUTCOME_PAGES = {p.name for p in PAGES if p.charts} - {"data_quality"}  # pages whose job is charts of outcomes


def _decoded(obj: object) -> object:
    """A figure's JSON with plotly's typed arrays ({"dtype", "bdata"}, base64) turned back into lists."""
    if isinstance(obj, dict) and "bdata" in obj and "dtype" in obj:
        values = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=np.dtype(obj["dtype"]))
        shape = [int(n) for n in str(obj.get("shape", len(values))).split(",")]
        return values.reshape(shape).tolist()
    if isinstance(obj, dict):
        return {k: _decoded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decoded(v) for v in obj]
    return obj


def drawn_figures(at: AppTest) -> list[go.Figure]:
    return [go.Figure(_decoded(json.loads(c.proto.spec))) for c in at.get("plotly_chart")]


@dataclass
class Shown:
    """What one page showed: crash boxes, error boxes, visible text, notes, charts, tiles, tables."""

    exceptions: list[str]
    errors: list[str]
    text: list[str]
    notes: list[str]
    figures: list[go.Figure]
    tiles: int
    tables: int
    titles: list[str]
    sidebar: list[str]
    words: list[str]
    cells: list[str]  # every on-page table cell as shown


def _merged(sections: list[Shown]) -> Shown:
    """What a page of several sections shows in all of them; what every section repeats (the title, the
    sidebar, the page's notes) once."""

    def once(xs: list[list]) -> list:
        return list(dict.fromkeys(v for x in xs for v in x))

    def every(xs: list[list]) -> list:
        return [v for x in xs for v in x]

    f = {k: [getattr(s, k) for s in sections] for k in Shown.__dataclass_fields__}
    return Shown(every(f["exceptions"]), every(f["errors"]), every(f["text"]), once(f["notes"]), every(f["figures"]),
                 sum(f["tiles"]), sum(f["tables"]), once(f["titles"]), once(f["sidebar"]), every(f["words"]),
                 every(f["cells"]))  # fmt: skip


@pytest.fixture(scope="module")
def pages(program, tmp_path_factory):
    """`pages(name)` -> {page: Shown} for every page of the dashboard on test program `name`, walked once."""
    import os

    seen: dict[str, dict[str, Shown]] = {}

    def walk(name: str) -> dict[str, Shown]:
        if name not in seen:
            before = os.environ.get("PEER_OUTCOMES_DB")
            os.environ["PEER_OUTCOMES_DB"] = str(program(name))
            try:
                at = AppTest.from_file(APP, default_timeout=120).run()
                seen[name] = {}
                for page in PAGES:
                    if page is not PAGES[0]:
                        at.switch_page(page.script).run()
                    seen[name][page.name] = _merged([Shown(
                        [e.value for e in at.exception], [e.value for e in at.error], visible_text(at),
                        [i.value for i in at.info], drawn_figures(at), len(at.metric), len(tables(at)),
                        [t.value for t in at.title], [c.value for c in at.sidebar.caption], words_shown(at),
                        [str(v) for d in tables(at) for v in d.to_numpy().ravel()],
                    ) for at in each_section(at, page)])  # fmt: skip
            finally:
                os.environ.pop("PEER_OUTCOMES_DB") if before is None else os.environ.update(PEER_OUTCOMES_DB=before)
        return seen[name]

    return walk


@pytest.mark.parametrize("name", PROGRAMS)
def test_every_page_renders_and_says_what_it_cannot_show(pages, name):
    for page, shown in pages(name).items():
        where = f"{name} / {page}"
        assert not shown.exceptions, (where, shown.exceptions)
        assert not shown.errors, (where, shown.errors)
        raw = [t for t in shown.text if RAW_MISSING.search(t)]
        assert not raw, (where, raw)
        for fig in shown.figures:
            assert has_values(fig), f"{where}: an empty chart ({fig.layout.title.text})"
            values = [v for t in fig.data if t.type == "bar" for v in np.ravel(t.y) if v is not None]
            assert all(np.isnan(v) or v >= 0 for v in values), f"{where}: a negative bar"
        if page in OUTCOME_PAGES and not shown.figures:
            assert shown.notes, f"{where}: no chart and no sentence saying why"
        if page == "data_quality":  # always works: it describes loads, not people
            assert shown.titles == ["Data quality"] and shown.tables >= 2


@pytest.mark.parametrize("name", ["size_26", "size_60"])
def test_a_table_cell_left_empty_says_why_in_the_words_tiles_and_csvs_use(pages, name):
    from peer_outcomes.analysis import disclosure

    cells = [c for shown in pages(name).values() for c in shown.cells]
    assert not {"not shown", "None", "nan", "<NA>"} & set(cells), name
    assert not [c for c in cells if c == disclosure.status_words("")], name  # every empty cell has its reason
    assert disclosure.status_words(disclosure.HIDDEN_SMALL) in cells, name  # "hidden (fewer than k people)"
    assert disclosure.mask_text() in cells, name  # a hidden count: "< k"
    counts = [c for c in cells if re.fullmatch(r"[\d,]+", c)]
    assert counts and all(c == f"{int(c.replace(',', '')):,}" for c in counts), name  # 1,234 with separators


@pytest.mark.parametrize("name", ["size_0", "size_5", "size_10"])
def test_a_program_with_nothing_publishable_says_why_on_every_outcome_page(pages, name):
    for page, shown in pages(name).items():
        if page in OUTCOME_PAGES | {"evidence"}:
            assert not shown.figures and not shown.tiles, page
            why = ("The program has fewer than 11 participants so far, so no figure is shown until 11 or more have "
                   "enrolled.") if name != "size_0" else "Fewer than 11 participants match these filters, so nothing is shown."  # fmt: skip
            assert why in shown.notes, (page, shown.notes)
            # one program, so nothing counts programs, and the reason is not said twice in other words
            assert not any("1 program" in n or "match these filters" in n for n in shown.notes if n != why), page
        assert any("No enrollment period has 11 or more participants yet" in c for c in shown.sidebar)


def test_eleven_people_in_one_site_and_track_are_shown_and_their_small_parts_explained(pages):
    shown = pages("size_11")
    assert "Participants 11" in shown["overview"].text
    assert "Every enrollment month has fewer than 11 people, so retention by month cannot be shown." in shown["retention"].notes
    relapse = shown["relapse"].notes
    assert any(n.startswith("Fewer than 11 relapses") for n in relapse)
    assert any("not drawn, because every value is zero or describes fewer than 11 people" in n for n in relapse)


def test_a_note_shared_by_several_results_is_shown_once_per_page(pages):
    for page, shown in pages("sites_60").items():
        assert len(shown.notes) == len(set(shown.notes)), (page, shown.notes)


def test_a_match_feature_left_out_is_named_in_words(pages):
    """At 60 people one level of a match feature is small: the note names the feature as a director would
    ("certified mentor"), not as a column ("mentor certified") or the model's own word for its levels."""
    notes = [n for n in pages("size_60")["mentors"].notes if "left out to protect privacy" in n]
    assert notes and all(" by level " not in n for n in notes), notes
    assert any(n.startswith("1 group by certified mentor with fewer than 11 people") for n in notes), notes


@pytest.mark.parametrize("name", ["size_5", "size_26"])
def test_no_open_tab_stands_empty(program, name, monkeypatch):
    """A tab a director opens says something beyond its heading: with too few people to show, either the page
    has no tabs (the note above them says why) or the tab says in a sentence that nothing is shown and why."""
    monkeypatch.setenv("PEER_OUTCOMES_DB", str(program(name)))
    at = AppTest.from_file(APP, default_timeout=120).run()
    empty = []
    for page in (p for p in PAGES if p.sections):
        at.switch_page(page.script).run()
        for label, section in zip(page.sections, each_section(at, page), strict=True):
            shown = [c for t in section.tabs if t.label == label for c in t.children.values()]
            if section.tabs and not [c for c in shown if type(c).__name__ != "Subheader"]:
                empty.append(f"{page.name} / {label}")
    assert not empty, empty


@pytest.mark.parametrize("name", ["one_site", "one_track", "no_relapses"])
def test_no_page_shows_a_raw_code_or_column_name(pages, name):
    for page, shown in pages(name).items():
        codes = sorted({c for t in shown.words for c in RAW_CODE.findall(t)})
        assert not codes, (f"{name} / {page}", codes, [t for t in shown.words if RAW_CODE.search(t)][:3])


@pytest.mark.parametrize(
    "older",
    [
        "alter table marts.participant_outcomes drop column is_meant_to_be_matched",  # a mart column pages now read
        "drop table aggregates.week_counts",  # an aggregate added since (Engagement raised an exception)
        "alter table aggregates.practice_counts drop column n_hits",  # an aggregate's column
    ],
)
def test_a_warehouse_built_by_an_older_version_asks_for_a_new_load_and_a_load_fixes_it(
    program, tmp_path, monkeypatch, older
):
    import shutil

    import duckdb

    from peer_outcomes.pipelines.etl import run_etl

    built = program("size_26")
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(built, db)
    with duckdb.connect(str(db)) as con:  # as an earlier version built it
        con.execute(older)
    monkeypatch.setenv("PEER_OUTCOMES_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        f"The warehouse {db} was built by an older version of peer-outcomes: run `peer-outcomes etl EXPORT_DIR "
        f"--db {db}` again."
    ]
    run_etl(built.parent / "export", db)
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception and not at.error and at.metric
