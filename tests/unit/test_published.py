"""The published layer on the real synthetic warehouse: its numbers equal independent computations, and
the planted small site (8 people) is in no published population, so no difference of two results finds it.

The independent computations apply the published policy themselves, written out here in pandas: curves
from running event and censoring counts rounded up to multiples of 11 (OpenSAFELY's round_km) fed to
statsmodels as frequency weights; table counts rounded to 5 and rates computed from the rounded counts."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.survfunc import SurvfuncRight

from peer_outcomes.analysis import population, published
from peer_outcomes.analysis.queries import Filters, outcomes


@pytest.fixture(scope="module")
def db(synth_warehouse: Path) -> Path:
    return synth_warehouse


@pytest.fixture(scope="module")
def small_site(synth_export: Path) -> str:
    return json.loads((synth_export / "truth.json").read_text())["small_site"]


# The base population every published result describes: people outside site x track cells of fewer than 11
# (written out here independently of analysis.queries).
BASE = (
    "[site, coalesce(program_track, 'none')] in (select [site, coalesce(program_track, 'none')] "
    "from marts.participant_outcomes group by all having count(*) >= 11)"
)
IN_BASE = f"participant_key in (select participant_key from marts.participant_outcomes where {BASE})"


def _rows(db: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).df()


def _round_km(df: pd.DataFrame, duration: str, code: str, k: int = 11) -> pd.DataFrame:
    """Per time and code, the counts a round_km curve is drawn from: running totals rounded up to k and
    differenced; in time order (events before censorings at a tie) the weights stop once they hold everyone."""
    table = df.groupby([duration, code]).size().unstack(fill_value=0).sort_index()
    rounded = np.ceil(table.cumsum() / k) * k
    steps = rounded.diff().fillna(rounded)
    long = steps.stack().rename("w").reset_index()
    long = long.assign(c=long[code] == 0).sort_values([duration, "c", code])
    over = (long["w"].cumsum() - len(df)).clip(lower=0)
    long["w"] = (long["w"] - over).clip(lower=0)
    return long[long["w"] > 0]


def _round5(x: float) -> float:
    """A shown count as the policy rounds it: nearest 5, never below 15 once at least 11."""
    return 0.0 if x == 0 else max(15.0, 5 * np.floor(x / 5 + 0.5))


def _statsmodels_km_at(df: pd.DataFrame, duration: str, event: str, t: float) -> float:
    w = _round_km(df, duration, event)
    sf = SurvfuncRight(w[duration].to_numpy(float), w[event].to_numpy(float), freq_weights=w["w"].to_numpy(float))
    idx = np.searchsorted(sf.surv_times, t, side="right") - 1
    return 1.0 if idx < 0 else float(sf.surv_prob[idx])


def test_headline_retention_at_90_days_equals_statsmodels_km_on_counts_rounded_up_to_11(db):
    tiles = published.headline(db, Filters()).frames["tiles"].set_index("key")["value"]
    df = _rows(db, f"select retention_days, is_disengaged from marts.participant_outcomes where {BASE}")
    assert tiles["enrolled"] == len(df)
    assert tiles["retained_90"] == pytest.approx(_statsmodels_km_at(df, "retention_days", "is_disengaged", 90), abs=1e-12)


def test_matched_share_counts_only_the_track_meant_to_have_a_mentor(db):
    """The synthetic program never matches usual care (docs/synthetic.md): the share is among the peer track,
    counted here from the core tables (matches on or before as_of), with its denominator in words."""
    tiles = published.headline(db, Filters()).frames["tiles"].set_index("key")
    peer = _rows(db, f"""
        select p.participant_key, count(m.participant_key) > 0 as matched
        from participants p left join matches m
          on m.participant_key = p.participant_key and m.matched_on <= (select as_of from settings)
             and m.matched_on <= coalesce((select min(exit_on) from exits e where e.participant_key = p.participant_key), date '9999-12-31')
        where p.program_track = 'peer_mentoring' and p.{IN_BASE} group by all""")
    assert _rows(db, "select count(*) n from matches join participants using (participant_key) "
                     "where program_track = 'usual_care'")["n"].iloc[0] == 0  # fmt: skip
    n, k = _round5(len(peer)), _round5(int(peer["matched"].sum()))
    assert tiles.loc["matched", "n"] == n
    assert tiles.loc["matched", "value"] == pytest.approx(k / n, abs=1e-12)
    assert tiles.loc["matched", "of"] == f"of about {n:,.0f} people in the peer_mentoring track"  # n is rounded
    assert tiles.loc["matched", "value"] > 0.7  # the 58% counted usual care; the peer track's is about 82%
    peer_only = published.headline(db, Filters(tracks=("peer_mentoring",))).frames["tiles"].set_index("key")
    assert peer_only.loc["matched", "of"] == f"of about {n:,.0f} people"  # the selection already names the track
    usual = published.headline(db, Filters(tracks=("usual_care",))).frames["tiles"]
    assert "matched" not in set(usual["key"])  # no one there is meant to have a mentor: no share at all


def test_retention_rates_by_site_equal_statsmodels_km_on_counts_rounded_up_to_11(db, small_site):
    rates = published.retention(db, Filters(), by="site").frames["rates"]
    df = _rows(db, "select site, retention_days, is_disengaged from marts.participant_outcomes")
    for site, part in df.groupby("site"):
        if site == small_site:
            continue
        got = rates[(rates["group"] == site) & (rates["time"] == 180)]["survival"].iloc[0]
        assert got == pytest.approx(_statsmodels_km_at(part, "retention_days", "is_disengaged", 180), abs=1e-12)


def test_relapse_free_n_is_exact_and_events_are_rounded_up_to_11(db):
    summary = published.relapse_free(db, Filters()).frames["summary"]
    df = _rows(db, f"select relapse_days, is_relapse from marts.participant_outcomes where {BASE}")
    assert summary["n"].iloc[0] == len(df), "everyone's N is a population size: published exactly anyway"
    assert summary["events"].iloc[0] == np.ceil(df["is_relapse"].sum() / 11) * 11


@pytest.mark.parametrize("by", ["program_track", "main_format"])
def test_curves_stop_before_fewer_than_11_remain_at_risk_and_move_in_steps_of_0_or_11(db, by):
    curve = published.retention(db, Filters(), by=by).frames["curve"]
    df = _rows(db, f"select coalesce({by}, 'unknown') as g, retention_days from marts.participant_outcomes")
    for g, c in curve.groupby("group"):
        t = df[df["g"] == g]["retention_days"]
        assert (t >= c["time"].max()).sum() >= 11
        left = -np.diff(c["n_at_risk"].to_numpy())  # people leaving between two published times
        events = c["n_at_risk"].to_numpy()[1:] * (1 - c["survival"].to_numpy()[1:] / c["survival"].to_numpy()[:-1])
        for x in (*left, *events):
            assert round(x) == 0 or round(x) >= 11, (g, x)
    assert "n_events" not in curve


def test_competing_risks_equal_statsmodels_cumincidence_on_counts_rounded_up_to_11(db):
    from statsmodels.duration.survfunc import CumIncidenceRight

    cif = published.competing_risks(db, Filters()).frames["cif"]
    df = _rows(db, f"select time_days, event_code from marts.competing where {IN_BASE}")
    w = _round_km(df, "time_days", "event_code")
    sm = CumIncidenceRight(w["time_days"].to_numpy(float), w["event_code"].to_numpy(float),
                           freq_weights=w["w"].to_numpy(float))  # fmt: skip
    for code, name in published.CAUSES.items():
        mine = cif[cif["cause"] == name]
        t = mine["time"].iloc[len(mine) // 2]
        i = np.searchsorted(sm.times, t, side="right") - 1
        assert mine[mine["time"] == t]["cif"].iloc[-1] == pytest.approx(sm.cinc[code - 1][i], abs=1e-10)


def test_milestone_attainment_equals_rounded_counts_in_the_mart(db):
    att = published.milestones(db, Filters()).frames["attainment"].set_index("milestone_days")
    raw = _rows(db, "select milestone_days, count(*) n, sum(is_achieved::int) k from marts.milestones "
                f"where is_observable and {IN_BASE} group by 1").set_index("milestone_days")  # fmt: skip
    m = 90
    assert att.loc[m, "n_observable"] == _round5(raw.loc[m, "n"])
    assert att.loc[m, "share"] == pytest.approx(_round5(raw.loc[m, "k"]) / _round5(raw.loc[m, "n"]))


def test_cox_forest_equals_lifelines_on_the_same_rows(db):
    from lifelines import CoxPHFitter

    forest = published.relapse_cox(db, Filters()).frames["forest"]
    covs = published.COX_COVARIATES
    d = outcomes(db, Filters())
    d = d.assign(**{c: d[c].astype("string").fillna("unknown") for c in covs})
    for c in covs:  # the published model leaves out levels with fewer than 11 people
        d = d[d[c].map(d[c].value_counts()) >= 11]
    refs = {c: d[c].value_counts().idxmax() for c in covs}
    formula = " + ".join(f"C({c}, Treatment('{refs[c]}'))" for c in covs)
    cph = CoxPHFitter().fit(d[["relapse_days", "is_relapse", *covs]], "relapse_days", "is_relapse", formula=formula)
    other = sorted(set(d["program_track"]) - {refs["program_track"]})[0]
    want = np.exp(cph.params_[f"C(program_track, Treatment('{refs['program_track']}'))[T.{other}]"])
    row = forest[forest["term"].str.contains("program_track") & forest["term"].str.contains(other)]
    assert row["hr"].iloc[0] == pytest.approx(want, rel=1e-6)


PER_SITE = [
    ("retention", "summary"),
    ("retention", "curve"),
    ("retention", "rates"),
    ("retention", "at_risk"),
    ("relapse_free", "curve"),
    ("competing_risks", "cif"),
    ("competing_risks", "events"),
]


@pytest.mark.parametrize(("func", "frame"), PER_SITE)
def test_planted_small_site_is_left_out_of_every_by_site_result(db, small_site, func, frame):
    pub = getattr(published, func)(db, Filters(), by="site")
    assert small_site not in set(pub.frames[frame]["group"].astype(str))
    assert "1 site with fewer than 11 participants is left out of every figure" in pub.notes[0]


@pytest.mark.parametrize(
    "func", ["headline", "retention", "relapse_free", "cohort_retention", "competing_risks", "relapse_cox",
             "milestones", "engagement", "mentors"]  # fmt: skip
)
def test_filtering_to_the_small_site_publishes_nothing_but_a_note(db, small_site, func):
    pub = getattr(published, func)(db, Filters(sites=(small_site,)))
    assert pub.empty
    assert pub.notes[-1] == "Fewer than 11 participants match these filters, so nothing is shown."
    assert "N = < 11" in pub.population


def test_filters_narrow_the_population(db):
    everyone = published.headline(db, Filters()).n
    north = published.headline(db, Filters(sites=("north",))).n
    expected = _rows(db, "select count(*) n from marts.participant_outcomes where site = 'north'")["n"].iloc[0]
    assert north == expected < everyone


def test_a_quote_in_a_filter_value_is_data_not_sql(db):
    pub = published.headline(db, Filters(sites=("north' or '1'='1",)))
    assert pub.empty


def test_filters_round_trip_through_url_query_params():
    from datetime import date

    f = Filters(date(2024, 1, 1), date(2024, 12, 31), ("east", "north"), ("usual_care",))
    assert Filters.from_query_params(f.to_query_params()) == f
    assert Filters.from_query_params({"from": "not-a-date", "site": "east"}) == Filters(sites=("east",))


def test_data_quality_reports_counts_never_values(db):
    fr = published.data_quality(db).frames
    assert "value" not in fr["quarantine"].columns
    n = _rows(db, f"select count(*) n from participants where {IN_BASE}")["n"].iloc[0]
    assert fr["missing"]["n_total"].iloc[0] == _round5(n)
    people = fr["batches"]["entity"] == "participants"
    assert fr["batches"].loc[people, ["rows_read", "rows_loaded"]].isna().all().all(), "would size the left-out groups"
    assert set(fr["batches"]["status"]) <= {"loaded", "unchanged", "failed"}


def test_leaving_out_the_small_site_cannot_be_undone_from_the_totals(db, small_site):
    pub = published.retention(db, Filters(), by="site")
    summary = pub.frames["summary"]
    total = published.headline(db, Filters()).n
    assert total == summary["n"].sum(), "every site shown, none hidden: all sites = the sum of the shown ones"
    assert f"N = {total:,.0f} participants" in pub.population


EVERY_FILTERED = ["headline", "retention", "relapse_free", "cohort_retention", "competing_risks", "relapse_cox",
                  "milestones", "engagement", "mentors", "participants_served"]  # fmt: skip


def _same(a: published.Published, b: published.Published) -> None:
    assert a.n == b.n
    assert a.frames.keys() == b.frames.keys()
    for name in a.frames:
        pd.testing.assert_frame_equal(a.frames[name].reset_index(drop=True), b.frames[name].reset_index(drop=True))


@pytest.mark.parametrize("func", EVERY_FILTERED)
def test_differencing_all_sites_against_every_offered_site_recovers_nothing(db, small_site, func):
    opts = published.filter_options(db)
    assert small_site not in opts["sites"]
    pub = getattr(published, func)
    everyone = pub(db, Filters())
    _same(everyone, pub(db, Filters(sites=tuple(opts["sites"]))))  # "all sites" minus "the offered ones" = nothing
    _same(everyone, pub(db, Filters(tracks=tuple(opts["tracks"]))))
    assert any("left out of every figure" in n for n in everyone.notes)


def test_all_sites_is_the_sum_of_the_offered_sites_and_tracks(db, small_site):
    opts = published.filter_options(db)
    n = {s: published.headline(db, Filters(sites=(s,))).n for s in opts["sites"]}
    assert published.headline(db, Filters()).n == sum(n.values())
    assert published.headline(db, Filters(sites=(small_site,))).empty
    site = opts["sites"][0]  # within a site, the tracks add up too: site minus one track is a whole cell
    by_track = [published.headline(db, Filters(sites=(site,), tracks=(t,))).n for t in opts["tracks"]]
    assert n[site] == np.nansum(by_track)
    assert all(np.isnan(x) or x >= 11 for x in by_track)


def test_asking_for_all_groups_cannot_bring_the_small_site_back(db, small_site):
    total = _rows(db, "select count(*) n from marts.participant_outcomes")["n"].iloc[0]
    pub = published.headline(db, Filters(all_groups=True))
    small = _rows(db, "select count(*) n from marts.participant_outcomes where site = ?", [small_site])["n"].iloc[0]
    assert 0 < small < 11
    assert pub.n == total - small == len(outcomes(db, Filters()))
    assert published.retention(db, f=Filters(all_groups=True)).n == pub.n
    assert len(outcomes(db, Filters(all_groups=True))) == total  # notebooks on the warehouse tier still can


@pytest.mark.parametrize("func", ["cohort_retention", "relapse_cox", "competing_risks"])
def test_population_line_counts_everyone_before_small_groups_are_left_out(db, func):
    total = published.headline(db, Filters()).n
    pub = getattr(published, func)(db, Filters())
    assert pub.n == total


@pytest.fixture(scope="module")
def messy_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from peer_outcomes.pipelines.etl import run_etl
    from peer_outcomes.pipelines.synth import generate

    out = tmp_path_factory.mktemp("messy")
    generate(out / "export", participants=600, seed=5, messy=True)
    run_etl(out / "export", out / "warehouse.duckdb")
    return out / "warehouse.duckdb"


def test_data_quality_counts_quarantined_rows_by_reason_without_values(messy_db):
    fr = published.data_quality(messy_db).frames
    assert list(fr["quarantine"].columns) == ["entity", "file_name", "column_name", "reason", "n_rows"]
    assert fr["quarantine"]["n_rows"].sum() == fr["batches"]["rows_quarantined"].sum() > 0
    assert fr["quarantine_by_reason"]["n_rows"].sum() == fr["quarantine"]["n_rows"].sum()
    assert not fr["quarantine_by_reason"]["reason"].str.contains(r"of line \d", regex=True).any()
    missing = fr["missing"]
    small = missing["n_missing"].between(1, 10)
    assert not small.any(), "counts of 1-10 people missing a field are suppressed"


def test_dose_bands_equal_a_pandas_lag_over_the_mart(db):
    dose = published.engagement(db, Filters()).frames["dose"].set_index("sessions_last_week")
    long = _rows(db, f"select participant_key, week, n_attended, is_relapse from marts.dose_weekly where {IN_BASE}")
    long = long.sort_values(["participant_key", "week"])
    prev = long.groupby("participant_key")["n_attended"].shift(1).fillna(0).clip(upper=3).astype(int)
    weeks = long.groupby(prev.map({0: "0", 1: "1", 2: "2", 3: "3+"})).agg(n=("week", "size"), k=("is_relapse", "sum"))
    for band in ("0", "1"):
        n, k = _round5(weeks.loc[band, "n"]), _round5(weeks.loc[band, "k"])
        assert dose.loc[band, "person_weeks"] == n
        assert dose.loc[band, "relapses_per_100_weeks"] == pytest.approx(100 * k / n)


def test_weekly_attendance_rate_equals_the_mart_sums(db):
    weekly = published.engagement(db, Filters()).frames["weekly"]
    cells = _rows(db, "select week_start, format, sum(n_attended) a, sum(n_expected) e, sum(n_people) p "
                  f"from marts.attendance_weekly where {BASE} group by all having sum(n_people) >= 11")  # fmt: skip
    row = weekly.dropna(subset=["attendance_rate"]).iloc[len(weekly) // 3]
    want = cells[(cells["week_start"] == row["week_start"]) & (cells["format"] == row["format"])].iloc[0]
    assert row["attendance_rate"] == pytest.approx(_round5(want["a"]) / _round5(want["e"]))


def test_a_median_is_hidden_where_fewer_than_11_remain_at_risk(db):
    site, month = _rows(db, "select site, cohort_month from marts.participant_outcomes group by all "
                        "having count(*) between 11 and 15 order by 1, 2 limit 1").iloc[0]  # fmt: skip
    first = pd.Timestamp(month)
    f = Filters(first.date(), (first + pd.offsets.MonthEnd(0)).date(), (site,))
    f = population.snap(f, population.enrollment_periods(db))  # what the published layer widens it to
    summary = published.retention(db, f).frames["summary"]
    tiles = published.headline(db, f).frames["tiles"].set_index("key")["value"]
    t = outcomes(db, f)["retention_days"]
    for median in (summary["median"].iloc[0], tiles["median_retention"]):
        assert np.isnan(median) or (t >= median).sum() >= 11
    assert (t >= summary["median_upper_95"].fillna(0).iloc[0]).sum() >= 11


@pytest.mark.parametrize("site", ["central", "north"])
def test_cox_levels_with_fewer_than_11_relapses_are_not_estimable_never_inf(db, site):
    f = Filters(sites=(site,))
    pub = published.relapse_cox(db, f)
    forest = pub.frames["forest"]
    values = forest[["hr", "hr_lower_95", "hr_upper_95", "p"]].to_numpy(float)
    assert not np.isinf(values).any()
    assert "inf" not in forest.to_csv(index=False)
    d = outcomes(db, f)
    shown = forest["hr"].notna()
    for term, is_shown in zip(forest["term"], shown, strict=True):
        cov, level = term.split("[T.")
        relapses = d[d[cov].astype("string").fillna("unknown") == level.rstrip("]")]["is_relapse"].sum()
        assert (relapses >= 11) or not is_shown, f"{term}: {relapses} relapses but a hazard ratio is shown"
    if not shown.all():
        assert any("not estimable" in n for n in pub.notes)


def test_every_site_track_and_period_cell_holds_0_or_at_least_11_people(db):
    opts = published.filter_options(db)
    steps = opts["periods"]
    assert len(steps) >= 2
    assert all(a.end < b.start for a, b in zip(steps, steps[1:], strict=False))
    df = outcomes(db, Filters())
    df = df.assign(track=df["program_track"].fillna("none"), on=pd.to_datetime(df["enrolled_on"]))
    assert df["on"].between(pd.Timestamp(steps[0].start), pd.Timestamp(steps[-1].end)).all()
    for p in steps:  # any two choices differ by a union of these disjoint cells
        inside = df[df["on"].between(pd.Timestamp(p.start), pd.Timestamp(p.end))]
        sizes = inside.groupby(["site", "track"]).size()
        assert ((sizes == 0) | (sizes >= 11)).all(), (p, sizes[sizes < 11])


def test_a_date_inside_a_period_is_widened_to_the_whole_period(db):
    from datetime import timedelta

    steps = published.filter_options(db)["periods"]
    p = steps[1]
    inside = Filters(p.start + timedelta(days=20), p.end - timedelta(days=20), ("north",))
    whole = Filters(p.start, p.end, ("north",))
    one_month = Filters(p.start, (pd.Timestamp(p.start) + pd.offsets.MonthEnd(0)).date(), ("north",))
    _same(published.headline(db, inside), published.headline(db, whole))
    _same(published.headline(db, one_month), published.headline(db, whole))
    assert f"enrolled {p.start:%Y-%m-%d} to {p.end:%Y-%m-%d}" in published.headline(db, inside).population
