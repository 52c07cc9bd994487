"""The Mentoring practice page's all-mentor figures summed over programs (aggregates.mentor_counts) equal the
same counts taken from every active mentor-month (marts.mentor_months) and every mentor, as the page counted
them before: supervision by quarter, incidents by supervision and by site, and graduates who mentor; in one
program and in a warehouse of two (a mentor belongs to one program, so mentors add up)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from peer_outcomes.analysis import practice_queries as pq
from peer_outcomes.pipelines.warehouse import query

MONTHS = ("count(*) as mentor_months, count(*) filter (where is_supervised = 1) as n_supervised, "
          "sum(n_incidents) as n_incidents, count(distinct mentor_key) as n_mentors")  # fmt: skip


def _direct(db: Path) -> dict[str, pd.DataFrame]:
    """Each count from the rows, as practice_queries took them before the aggregate."""
    def by(group: str, name: str) -> pd.DataFrame:
        return query(db, f"select {group} as {name}, {MONTHS} from marts.mentor_months where is_active = 1 group by 1 order by 1")

    return {
        "supervision": by("strftime(month, '%Y') || '-Q' || cast(quarter(month) as varchar)", "quarter")
        [["quarter", "mentor_months", "n_supervised", "n_mentors"]],
        "supervised": by("cast(is_supervised = 1 as varchar)", "supervised")
        [["supervised", "mentor_months", "n_incidents", "n_mentors"]],
        "site": by("site", "site")[["site", "mentor_months", "n_incidents", "n_mentors"]],
        "graduates": query(db, "select count(*) as n_mentors, count(*) filter (where former_participant_pid in "
                               "(select participant_pid from participants)) as n_graduates from mentors x "
                               "where started_on <= (select as_of from programs where program = x.program)"),
    }  # fmt: skip


def _check(db: Path) -> dict[str, pd.DataFrame]:
    want = _direct(db)
    got = {"supervision": pq.supervision(db), "supervised": pq.incidents_by(db, "supervised"),
           "site": pq.incidents_by(db, "site"), "graduates": pq.graduate_mentors(db)}  # fmt: skip
    for name, frame in want.items():
        assert list(got[name].columns) == list(frame.columns), name
        for col in frame.columns:
            a, b = got[name][col], frame[col]
            assert a.dtype == b.dtype, (name, col, a.dtype, b.dtype)  # the published frames keep their types
            assert a.tolist() == b.tolist(), (name, col, a.tolist(), b.tolist())
    return want


def test_mentor_counts_equal_the_counts_of_every_mentor_month(synth_warehouse: Path):
    want = _check(synth_warehouse)
    assert len(want["supervision"]) > 2 and want["supervised"]["n_incidents"].sum() > 0  # not vacuous
    assert 0 < want["graduates"]["n_graduates"].iloc[0] < want["graduates"]["n_mentors"].iloc[0]


def test_mentor_counts_add_up_over_programs(two_programs):
    db = two_programs.final  # A, then B loaded beside it (rebuilt for B only), then B corrected
    assert query(db, "select count(distinct program) as n from aggregates.mentor_counts")["n"].iloc[0] == 2
    _check(db)
