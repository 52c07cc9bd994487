"""The selections the per-cell count tests hold to the row-wise queries: everyone, one site, one track, the
latest enrollment period, and an empty one (enrolled before any data)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from peer_outcomes.analysis import population
from peer_outcomes.analysis.published import filter_options
from peer_outcomes.analysis.queries import Filters


def selections(db: Path) -> list[Filters]:
    """Five selections of warehouse `db`, the same in every test that indexes them."""
    opts = filter_options(db)
    periods = population.enrollment_periods(db)
    return [Filters(), Filters(sites=(opts["sites"][0],)), Filters(tracks=(opts["tracks"][-1],)),
            Filters(enrolled_from=periods[-1].start, enrolled_to=periods[-1].end),
            replace(Filters(), enrolled_to=date(1990, 1, 31))]  # fmt: skip
