"""One browser page renders every image of the pack (`render.Painter`, no page reload between images): the
same pixels as kaleido's own renderer in a fresh browser, whatever was drawn before; and a missing browser
is one sentence (real kaleido and Debian's chromium)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.io as pio
import pytest

from peer_outcomes.dashboard import charts
from peer_outcomes.dashboard.render import NO_BROWSER, Painter
from peer_outcomes.pipelines.errors import UserError


def _figures() -> tuple[dict, dict]:
    t = np.arange(0, 50, 5.0)
    s = np.exp(-t / 60)
    curve = pd.DataFrame({"group": "All", "time": t, "n_at_risk": 100, "survival": s, "lower_95": s - 0.05,
                          "upper_95": np.minimum(1, s + 0.05)})  # fmt: skip
    counts = pd.DataFrame({"site": ["North", "South", "East"], "n": [40.0, np.nan, 25.0]})
    return (charts.km_curve(curve, "Retention", "N = 100").to_dict(),
            charts.bars(counts, "site", "n", "People", "N = 80", "Site", "people").to_dict())  # fmt: skip


def test_a_reused_page_draws_the_same_png_as_a_fresh_browser(tmp_path: Path) -> None:
    curve, bars = _figures()
    with Painter() as painter:
        jobs = [painter.render(spec, tmp_path / f"{i}.png", "png", 600, 400, 2) for i, spec in enumerate([curve, bars, curve])]
        jobs.append(painter.render(bars, tmp_path / "bars.svg", "svg", 600, 400))
        for job in jobs:
            job.result()
    fresh = pio.to_image(curve, format="png", width=600, height=400, scale=2, validate=False)  # kaleido's one-shot browser
    assert fresh.startswith(b"\x89PNG")
    assert (tmp_path / "0.png").read_bytes() == fresh
    assert (tmp_path / "2.png").read_bytes() == fresh, "drawing the bar chart in between changed the curve"
    assert (tmp_path / "1.png").read_bytes() != fresh
    assert b"<svg" in (tmp_path / "bars.svg").read_bytes()[:500]


def test_a_missing_browser_is_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-chromium"))
    curve, _ = _figures()
    with Painter() as painter, pytest.raises(UserError) as err:
        painter.render(curve, tmp_path / "x.png", "png", 600, 400).result()
    assert str(err.value) == NO_BROWSER
    assert not (tmp_path / "x.png").exists()
