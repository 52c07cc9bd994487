"""The dose model on the Engagement page: fitted at any size (no row limit), equal to lifelines'
CoxTimeVaryingFitter on the same rows, and withheld with a plain sentence when relapses are too few."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
from lifelines import CoxTimeVaryingFitter

from peer_outcomes.analysis import published
from peer_outcomes.analysis.queries import Filters

# Everyone outside site x track cells of fewer than 11 (the published base population, written out here).
BASE = (
    "[site, coalesce(program_track, 'none')] in (select [site, coalesce(program_track, 'none')] "
    "from marts.participant_outcomes group by all having count(*) >= 11)"
)


def test_the_dose_model_equals_lifelines_time_varying_cox_on_the_same_rows(synth_warehouse: Path):
    with duckdb.connect(str(synth_warehouse), read_only=True) as con:
        long = con.execute(
            "select participant_key, week, start_days, stop_days, is_relapse, n_attended from marts.dose_weekly "
            f"where participant_key in (select participant_key from marts.participant_outcomes where {BASE})"
        ).df()
    long = long.sort_values(["participant_key", "week"])
    long["prev"] = long.groupby("participant_key")["n_attended"].shift(1).fillna(0)
    ctv = CoxTimeVaryingFitter().fit(
        long[["participant_key", "start_days", "stop_days", "is_relapse", "prev"]], id_col="participant_key",
        event_col="is_relapse", start_col="start_days", stop_col="stop_days", fit_options={"precision": 1e-10},
    )
    pub = published.engagement(synth_warehouse, Filters())
    row = pub.frames["dose_cox"].set_index("term").loc["prev_week_sessions"]
    # lifelines stops on its Newton decrement, ~1e-6 short of the optimum (docs/methods.md)
    assert np.isclose(np.log(row["hr"]), ctv.params_["prev"], rtol=0, atol=1e-5)
    lower = np.exp(ctv.params_["prev"] - 1.959963984540054 * ctv.standard_errors_["prev"])
    assert np.isclose(row["hr_lower_95"], lower, rtol=1e-5)
    assert not any("participant-weeks" in note for note in pub.notes)


def test_too_few_relapses_withholds_the_dose_model_with_a_sentence(program):
    pub = published.engagement(program("no_relapses"), Filters())
    assert pub.frames["dose_cox"].empty
    assert "Fewer than 11 relapses in this selection, so no dose model is fitted." in pub.notes
