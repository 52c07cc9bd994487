"""The Mentoring practice counts summed over filter cells (aggregates.practice_counts) equal the same counts
taken from the practice marts joined to the filtered participants, as the page counted them before: goals by
domain, goal setting, referral linkage by type and for treatment, check-in regularity and the pathway, for
everyone, one site, one track, one enrollment period and a selection of no one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from selections import selections

from peer_outcomes.analysis import practice_queries as pq
from peer_outcomes.analysis.queries import Filters
from peer_outcomes.pipelines.warehouse import query

AS_OF = "(select as_of from programs where program = p.program)"


def _rows(db: Path, f: Filters, mart: str, extra: str, select: str, group: str = "") -> pd.DataFrame:
    where, params = f.where(prefix="p.")
    sql = (f"select {select} from {mart} x join marts.participant_outcomes p using (participant_key) "
           f"where {where} and {extra} {group}")  # fmt: skip
    return query(db, sql, params)


def _direct(db: Path, f: Filters) -> dict[str, pd.DataFrame]:
    """Each count as the page's queries took it from the marts (the windows as practice_queries names them)."""
    counts = ("count(*) as n_referrals, count(*) filter (where x.is_connected_30_days = 1) as n_connected, "
              "count(distinct x.participant_key) as n_people")  # fmt: skip
    return {
        "goals": _rows(db, f, "marts.goals", f"x.set_on <= {AS_OF} - {pq.GOAL_DAYS}",
                       f"x.domain, count(*) as n_goals, count(*) filter (where x.is_met = 1 and x.time_days <= "
                       f"{pq.GOAL_DAYS}) as n_met, count(distinct x.participant_key) as n_people", "group by 1 order by 1"),
        "goal_setting": _rows(db, f, "marts.goal_setting", "x.is_observable_30_days = 1",
                              "count(*) as n_followed, count(*) filter (where x.n_goals_first_30_days > 0) as n_with_goal"),
        "by_type": _rows(db, f, "marts.referrals", "x.is_observable_30_days = 1", f"x.resource_type, {counts}",
                         "group by 1 order by 1"),
        "treatment": _rows(db, f, "marts.referrals", "x.is_observable_30_days = 1 and x.is_treatment = 1",
                           f"'all treatment' as resource_type, {counts}"),
        "regularity": _rows(db, f, "marts.check_in_regularity", "x.n_weeks > 0",
                            "coalesce(sum(x.n_weeks), 0) as person_weeks, coalesce(sum(x.n_weeks_reached), 0) as "
                            "n_weeks_reached, count(*) as n_people"),
        "pathway": _rows(db, f, "marts.pathway", f"x.completed_on <= {AS_OF} - {pq.PATHWAY_DAYS}",
                         f"count(*) as n_completers, count(*) filter (where x.is_mentor = 1 and x.time_days <= "
                         f"{pq.PATHWAY_DAYS}) as n_mentoring"),
    }  # fmt: skip


@pytest.mark.parametrize("which", range(5))
def test_practice_counts_from_cells_equal_the_counts_of_the_marts(synth_warehouse: Path, which: int):
    f = selections(synth_warehouse)[which]
    want = _direct(synth_warehouse, f)
    by_type, treatment = pq.referral_linkage(synth_warehouse, f)
    got = {"goals": pq.goals_by_domain(synth_warehouse, f), "goal_setting": pq.goal_setting(synth_warehouse, f),
           "by_type": by_type, "treatment": treatment, "regularity": pq.check_in_regularity(synth_warehouse, f),
           "pathway": pq.pathway(synth_warehouse, f)}  # fmt: skip
    for name, frame in want.items():
        assert list(got[name].columns) == list(frame.columns), name
        for col in frame.columns:
            a, b = got[name][col], frame[col]
            same = a.astype(float).tolist() == b.astype(float).tolist() if b.dtype.kind in "iuf" else a.tolist() == b.tolist()
            assert same, (name, col, a.tolist(), b.tolist())
    if which == 0:
        assert want["goals"]["n_goals"].sum() > 0 and want["pathway"]["n_completers"].iloc[0] > 0
