"""The Mentoring practice page under AppTest: on the session warehouse it draws the published (suppressed)
figures with their CIs; on a program exported without the practice files it says which files would fill
it, and every other page's published results are exactly those of the same program with the files."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from page_text import each_section, page_named, tables
from streamlit.testing.v1 import AppTest
from test_any_size import drawn_figures

from peer_outcomes.analysis import published, published_practice
from peer_outcomes.analysis.queries import Filters
from peer_outcomes.dashboard import figures, figures_practice

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@dataclass
class Seen:
    """What the page showed in all its sections (one question a tab)."""

    figures: list[go.Figure] = field(default_factory=list)
    tables: list[pd.DataFrame] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    sections: int = 0


def _practice_page(db: Path) -> Seen:
    before = os.environ.get("PEER_OUTCOMES_DB")
    os.environ["PEER_OUTCOMES_DB"] = str(db)
    seen = Seen()
    try:
        at = AppTest.from_file(APP, default_timeout=120).run()
        at.switch_page("app_pages/practice.py").run()
        for section in each_section(at, "practice"):
            assert not section.exception, [e.value for e in section.exception]
            assert not section.error
            seen.figures += drawn_figures(section)
            seen.tables += tables(section)
            seen.infos += [i.value for i in section.info]
            seen.sections += 1
    finally:
        os.environ.pop("PEER_OUTCOMES_DB") if before is None else os.environ.update(PEER_OUTCOMES_DB=before)
    return seen


def _charts(seen: Seen) -> dict[str, go.Figure]:
    return {fig.layout.title.text.split("<br>")[0]: fig for fig in seen.figures}


@pytest.fixture(scope="module")
def shown(synth_warehouse: Path) -> Seen:
    return _practice_page(synth_warehouse)


def test_every_practice_chart_draws_the_published_shares_and_their_cis(shown, synth_warehouse):
    charts = _charts(shown)
    pubs = {"practice": published_practice.practice(synth_warehouse, Filters()),
            "mentor": published_practice.mentor_practice(synth_warehouse)}  # fmt: skip
    drawn = 0
    for fig, pub in [*((f, pubs["practice"]) for f in figures_practice.PRACTICE),
                     *((f, pubs["mentor"]) for f in figures_practice.MENTOR)]:  # fmt: skip
        frame = fig.data(pub)
        y = [c for c in frame.columns if c.endswith("_lower_95")][0].removesuffix("_lower_95")
        if frame[y].isna().all():
            continue
        bar = next(t for t in charts[fig.title].data if t.type == "bar")
        got = np.array([np.nan if v is None else v for v in bar.y], dtype=float)
        np.testing.assert_allclose(got, frame[y].to_numpy(float), equal_nan=True)
        upper = np.array([np.nan if v is None else v for v in bar.error_y.array], dtype=float)
        np.testing.assert_allclose(got + upper, frame[f"{y}_upper_95"].to_numpy(float), equal_nan=True)
        drawn += 1
    assert drawn >= 5, "the 1,500-person program has enough goals, referrals, check-ins and mentor-months"


def test_the_treatment_referral_share_is_shown_with_its_denominator(shown, synth_warehouse):
    referrals = published_practice.practice(synth_warehouse, Filters()).frames["referrals"].set_index("resource_type")
    treatment = referrals.loc["treatment"]
    assert treatment["n_referrals"] >= 11 and treatment["n_referrals"] % 5 == 0  # a rounded denominator
    assert treatment["share_connected"] == treatment["n_connected"] / treatment["n_referrals"]
    assert treatment["share_connected_lower_95"] < treatment["share_connected"] < treatment["share_connected_upper_95"]
    assert any("share who set a goal" in t.columns for t in shown.tables)  # the first-30-days table, in words
    assert any("former participants" in t.columns for t in shown.tables)


def test_no_incident_count_under_k_is_on_the_page(shown):
    for table in shown.tables:
        if "incidents" in table.columns:
            counts = pd.to_numeric(table["incidents"], errors="coerce").dropna()
            assert ((counts == 0) | (counts >= 11)).all()


def test_without_the_practice_files_the_page_says_which_files_would_fill_it(program):
    seen = _practice_page(program("sites_60_no_practice"))
    infos = " ".join(seen.infos)
    for needed in ("Add goals.csv to your export", "Add referrals.csv to your export", "Add check_ins.csv to your export",
                   "Add mentor_activity.csv to your export", "Add mentor_activity.csv and incidents.csv to your export"):  # fmt: skip
        assert needed in infos, infos
    assert not seen.figures


def test_an_export_without_the_practice_files_changes_no_other_published_result(program):
    with_files, without = program("sites_60"), program("sites_60_no_practice")
    f = Filters()
    for name in ("headline", "retention", "relapse_free", "competing_risks", "milestones", "engagement", "mentors",
                 "participants_served"):  # fmt: skip
        a, b = getattr(published, name)(with_files, f), getattr(published, name)(without, f)
        assert a.methods == b.methods and a.notes == b.notes and a.population == b.population, name
        for key in a.frames:
            pd.testing.assert_frame_equal(a.frames[key], b.frames[key], obj=f"{name}.{key}")


@pytest.mark.parametrize(("name", "first"), [("practice", figures_practice.GOALS), ("engagement", figures.ATTENDANCE)])
def test_a_page_of_sections_opens_on_its_first_and_draws_only_that_ones_charts(synth_warehouse, monkeypatch, name, first):
    # a switch to the page draws one section; the other charts are one tab away (every chart test above)
    monkeypatch.setenv("PEER_OUTCOMES_DB", str(synth_warehouse))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(f"app_pages/{name}.py").run()
    assert not at.exception
    assert [t.label for t in at.tabs] == list(page_named(name).sections)
    assert [fig.layout.title.text.split("<br>")[0] for fig in drawn_figures(at)] == [first.title]
