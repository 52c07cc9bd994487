"""Chart builders are pure (frame in, Figure out) and render to real PNG/SVG with kaleido + chromium."""

from __future__ import annotations

import numpy as np
import pandas as pd

from peer_outcomes.analysis import disclosure
from peer_outcomes.dashboard import charts


def _curve() -> pd.DataFrame:
    t = np.arange(0, 50, 5.0)
    s = np.exp(-t / 60)
    return pd.DataFrame({"group": "All", "time": t, "n_at_risk": 100, "survival": s, "lower_95": s - 0.05,
                         "upper_95": np.minimum(1, s + 0.05)})  # fmt: skip


def test_km_title_states_subject_and_population_and_axes_have_units():
    fig = charts.km_curve(_curve(), "Retention", "N = 1,234 participants; data to 2026-06-30")
    assert "Retention" in fig.layout.title.text and "N = 1,234" in fig.layout.title.text
    assert fig.layout.xaxis.title.text == "Days since enrollment"
    assert "(%)" in fig.layout.yaxis.title.text
    assert any(t.fill == "tonexty" for t in fig.data), "the CI band is drawn"


def test_suppressed_values_are_gaps_not_zeros():
    df = pd.DataFrame({"k": ["a", "b"], "n": [np.nan, 40.0]})
    fig = charts.bars(df, "k", "n", "Counts", "N = 50", "k", "people")
    assert np.isnan(fig.data[0].y[0]) and fig.data[0].y[1] == 40


def test_png_and_svg_render_with_kaleido():
    fig = charts.km_curve(_curve(), "Retention", "N = 100")
    assert charts.to_image(fig, "png").startswith(b"\x89PNG")
    assert b"<svg" in charts.to_image(fig, "svg")[:500]


def test_a_hidden_bar_says_why_as_the_csvs_do():
    """A hidden share names its recorded reason (or the small cell) on hover and reads "hidden" in its slot
    (the reasons ran into the next bars' slots), a hidden count reads "< 11": never a bare "not shown"."""
    df = pd.DataFrame({"k": ["a", "b", "c"], "share": [np.nan, 0.4, np.nan], "n": [np.nan, 40.0, 30.0]})
    disclosure.mark(df, "share", df["k"].eq("c"), disclosure.HIDDEN_COMPLEMENT)
    shares = charts.bars(df, "k", "share", "Shares", "N = 80", "k", "share", percent=True)
    assert list(shares.data[-1].hovertext) == [disclosure.status_words(disclosure.HIDDEN_SMALL).capitalize(),
                                               disclosure.status_words(disclosure.HIDDEN_COMPLEMENT).capitalize()]  # fmt: skip
    assert list(shares.data[-1].text) == ["hidden", "hidden"]
    assert list(shares.data[-1].x) == ["a", "c"]
    counts = charts.bars(df, "k", "n", "Counts", "N = 80", "k", "people")
    assert list(counts.data[-1].text) == [f"< {disclosure.threshold()}"]


def test_match_feature_bars_carry_their_km_interval_and_labels_that_fit(synth_warehouse):
    """Mentors & matching: each match-feature bar has the Kaplan–Meier 95% CI of the published frame as its
    error bar (hidden with the estimate), and the features' words sit level on short lines, not rotated
    under the legend where a half-width column cut them."""
    from peer_outcomes.analysis import published
    from peer_outcomes.analysis.queries import Filters
    from peer_outcomes.dashboard import figures

    pub = published.mentors(synth_warehouse, Filters())
    frame = pub.frames["by_feature"]
    for figure, y in ((figures.MATCH_RETAINED, "retained_90"), (figures.MATCH_RELAPSE_FREE, "relapse_free_180")):
        assert frame[f"{y}_lower_95"].le(frame[y]).all() and frame[f"{y}_upper_95"].ge(frame[y]).all()
        assert frame[f"{y}_lower_95"].isna().equals(frame[y].isna())
        fig = figure.draw(pub)
        for trace in (t for t in fig.data if t.type == "bar"):
            level = frame[frame["level"] == trace.name]
            assert np.allclose(np.asarray(trace.error_y.array, float), (level[f"{y}_upper_95"] - level[y]).to_numpy(float))
            assert np.allclose(np.asarray(trace.error_y.arrayminus, float), (level[y] - level[f"{y}_lower_95"]).to_numpy(float))
            assert all(len(line) <= 16 for x in trace.x for line in x.split("<br>")), trace.x
            assert "same main substance" in " ".join(x.replace("<br>", " ") for x in trace.x)
        assert fig.layout.xaxis.tickangle == 0
