"""The Mentors & matching counts summed over filter cells (aggregates.match_counts, caseload_counts) equal the
same counts taken from one row per participant, as the page counted them before: people, matched and
certified, rematch bands, days to first match, people per time and event by match feature, and mentors by
active caseload (every match joined to the filtered participants), for everyone, one site, one track, one
enrollment period and a selection of no one. Quantiles from counted values equal pandas' on the rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from selections import selections

from peer_outcomes.analysis import disclosure, queries
from peer_outcomes.analysis.queries import Filters
from peer_outcomes.pipelines.warehouse import query

FEATURES = ["mentor_certified", "same_gender", "same_substance"]


def _caseloads_from_matches(db: Path, f: Filters) -> dict[int, int]:
    """Mentors per active caseload, every match joined to the filtered participants (the page's old query)."""
    where, params = f.where(prefix="p.")
    sql = f"""
        select n_active, count(*) as n_mentors from (
            select m.mentor_key, count(distinct m.participant_key) filter (
                where m.ended_on is null or m.ended_on > (select as_of from programs where program = p.program)) as n_active
            from matches m join marts.participant_outcomes p using (participant_key) where {where}
            group by m.mentor_key)
        group by n_active"""
    return {int(a): int(n) for a, n in query(db, sql, params).itertuples(index=False)}


@pytest.mark.parametrize("which", range(5))
def test_match_counts_from_cells_equal_the_counts_of_one_row_per_participant(synth_warehouse: Path, which: int):
    db = synth_warehouse
    f = selections(db)[which]
    rows = queries.outcomes(db, f)
    assert queries.people(db, f) == len(rows)
    enrolled = queries.match_counts(db, f, "enrolled", ["cohort_quarter", "site"])
    want = rows.groupby(["cohort_quarter", "site"]).size()
    assert enrolled.set_index(["cohort_quarter", "site"])["n_people"].to_dict() == want.to_dict()

    m = rows[rows["is_matched"].fillna(0).astype(bool)]
    bands = queries.match_counts(db, f, "rematches", ["level"]).set_index("level")["n_people"].to_dict()
    rem = m["n_rematches"].fillna(0).clip(upper=3).astype(int).map({0: "0", 1: "1", 2: "2", 3: "3+"})
    assert bands == rem.value_counts().to_dict()
    days = queries.match_counts(db, f, "days_to_match", ["value"]).set_index("value")["n_people"].to_dict()
    assert days == m["days_to_first_match"].dropna().astype(int).value_counts().to_dict()

    for measure, time, event in (("retention", "retention_days", "is_disengaged"), ("relapse", "relapse_days", "is_relapse")):
        got = queries.match_counts(db, f, measure)
        for feat in FEATURES:
            sub = m.dropna(subset=[feat])
            level = np.where(sub[feat].astype(bool), "yes", "no")
            want = sub.groupby([level, sub[time], sub[event].fillna(0).astype(int)]).size().to_dict()
            mine = got[got["feature"] == feat].set_index(["level", "value", "is_event"])["n_people"].to_dict()
            assert mine == want, (measure, feat)

    loads = queries.mentor_caseloads(db, f)
    assert dict(zip(loads["n_active"].astype(int), loads["n_mentors"].astype(int), strict=True)) == _caseloads_from_matches(db, f)
    if which == 0:  # the synthetic program has matches, open ones and rematches: the checks above are not vacuous
        assert len(m) > 100 and loads.loc[loads["n_active"] > 0, "n_mentors"].sum() > 10 and len(bands) > 2


@pytest.mark.parametrize("seed", range(200))
def test_quantiles_from_counted_values_equal_quantiles_of_the_values(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    values = pd.Series(rng.integers(0, int(rng.integers(1, 150)), n).astype(float))
    values[rng.random(n) < 0.1] = np.nan
    qs = [0.25, 0.5, 0.75, 0.1, 0.95]
    counted = values.value_counts()
    want = disclosure.quantiles(values, qs)
    got = disclosure.counted_quantiles(pd.Series(counted.index), pd.Series(counted.to_numpy()), qs)
    assert np.array_equal(np.array(got), np.array(want), equal_nan=True)  # the same floats, bit for bit


def test_quantiles_from_counted_values_need_k_people():
    k = disclosure.threshold()
    assert np.isnan(disclosure.counted_quantiles(pd.Series([3.0, 5.0]), pd.Series([k - 2, 1]), [0.5])).all()
    assert disclosure.counted_quantiles(pd.Series([3.0, 5.0]), pd.Series([k - 1, 1]), [0.5]) == [3.0]
    assert np.isnan(disclosure.counted_quantiles(pd.Series([], dtype=float), pd.Series([], dtype=int), [0.5])).all()
