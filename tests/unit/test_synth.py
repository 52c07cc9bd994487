"""The synthetic program generator: contract-shaped files, integrity, determinism, planted faults, truth.

Contract checks read the CSV files with DuckDB (not with the generator's own code); the recovery test fits
the true effects with lifelines on the marts the real ETL builds, an implementation independent of the
generator's numpy draws.
"""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from peer_outcomes.pipelines.contract import ENTITIES
from peer_outcomes.pipelines.synth import FILES, SynthError, generate
from peer_outcomes.pipelines.synth_messy import IDENTIFIER_COLUMNS
from peer_outcomes.pipelines.synth_people import AS_OF


def _one(export: Path, sql: str) -> object:
    con = duckdb.connect()
    src = {n: f"read_csv('{export / n}.csv', header = true, all_varchar = true)" for n in FILES}
    return con.execute(sql.format(**src)).fetchone()[0]


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def messy_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """The same seed written clean and messy (N=300)."""
    clean = tmp_path_factory.mktemp("clean")
    messy = tmp_path_factory.mktemp("messy")
    generate(clean, participants=300, seed=5)
    return clean, messy, generate(messy, participants=300, seed=5, messy=True)


def test_clean_export_has_every_contract_file_with_exactly_the_contract_columns(synth_export: Path):
    for name in FILES:
        header = _rows(synth_export / f"{name}.csv")[0]
        assert header == list(ENTITIES[name].column_names), name


def test_required_values_enums_dates_and_integers_follow_the_contract(synth_export: Path):
    for name in FILES:
        for col in ENTITIES[name].columns:
            c = f'"{col.name}"'
            bad = []
            if col.required:
                bad.append(f"{c} is null")
            if col.kind == "enum":
                allowed = ", ".join(f"'{v}'" for v in col.values)
                bad.append(f"{c} not in ({allowed})")
            if col.kind == "date":  # a planned date (a goal's target) may lie after the cutoff
                late = "" if col.planned else f" or {c}::date > date '{AS_OF}'"
                bad.append(f"(try_strptime({c}, '%Y-%m-%d') is null{late})")
            if col.kind == "number":
                bad.append(f"try_cast({c} as double) is null or {c}::double not between {col.min} and {col.max}")
            if col.kind == "int":
                lo, hi = col.min if col.min is not None else -1e18, col.max if col.max is not None else 1e18
                bad.append(f"try_cast({c} as bigint) is null or {c}::bigint not between {lo} and {hi}")
            if col.kind == "bool":
                bad.append(f"{c} not in ('true', 'false')")
            for cond in bad:
                n_bad = _one(
                    synth_export,
                    f"select count(*) from {{{name}}} where {c} is not null and ({cond})"
                    if not cond.endswith("is null")
                    else f"select count(*) from {{{name}}} where {cond}",
                )
                assert n_bad == 0, f"{name}.{col.name}: {cond}"


def test_natural_keys_are_unique_in_the_clean_export(synth_export: Path):
    for name in FILES:
        key = ", ".join(ENTITIES[name].key)
        dupes = _one(
            synth_export,
            f"select count(*) from (select {key} from {{{name}}} group by all having count(*) > 1)",
        )
        assert dupes == 0, name


def test_every_reference_in_the_clean_export_resolves(synth_export: Path):
    refs = [
        (child, col.name, col.ref.split(".")[0], col.ref.split(".")[1])
        for child in FILES
        for col in ENTITIES[child].columns
        if col.ref
    ]
    assert ("attendance", "session_id", "sessions", "session_id") in refs
    for child, col, parent, pcol in refs:
        orphans = _one(
            synth_export,
            f"select count(*) from {{{child}}} c where c.{col} is not null "
            f"and c.{col} not in (select {pcol} from {{{parent}}})",
        )
        assert orphans == 0, f"{child}.{col} -> {parent}"


def test_events_matches_and_exits_fall_inside_each_participants_follow_up(synth_export: Path):
    checks = {
        "substance_use": "x.event_on::date <= p.enrolled_on::date",
        "exits": "x.exit_on::date < p.enrolled_on::date",
        "matches": "x.matched_on::date < p.enrolled_on::date or x.ended_on::date < x.matched_on::date",
    }
    for name, bad in checks.items():
        n_bad = _one(
            synth_export,
            f"select count(*) from {{{name}}} x join {{participants}} p using (participant_id) where {bad}",
        )
        assert n_bad == 0, name


def test_sessions_never_fall_on_a_whole_number_of_weeks_since_enrollment(synth_export: Path):
    """So every week convention (floor(d/7) or (7w, 7w+7]) puts each session in the same week."""
    n_bad = _one(
        synth_export,
        "select count(*) from {attendance} a join {sessions} s using (session_id) "
        "join {participants} p using (participant_id) "
        "where (s.session_date::date - p.enrolled_on::date) % 7 = 0",
    )
    assert n_bad == 0


def test_attended_sessions_are_never_more_than_12_days_apart(synth_export: Path):
    """An engaged participant attends every week, so only the end of engagement opens a 30-day gap."""
    max_gap = _one(
        synth_export,
        "select max(gap) from (select s.session_date::date - lag(s.session_date::date, 1, p.enrolled_on::date) "
        "over (partition by a.participant_id order by s.session_date) as gap "
        "from {attendance} a join {sessions} s using (session_id) join {participants} p using (participant_id) "
        "where a.status = 'attended')",
    )
    assert max_gap == 12


def test_all_four_formats_and_statuses_occur_and_one_on_ones_have_their_mentor(synth_export: Path):
    assert _one(synth_export, "select count(distinct format) from {sessions}") == 4
    assert _one(synth_export, "select count(distinct status) from {attendance}") == 4
    wrong = _one(
        synth_export,
        "select count(*) from {sessions} s join {attendance} a using (session_id) "
        "where s.format = 'one_on_one' and s.mentor_id is not null and s.mentor_id not in "
        "(select mentor_id from {matches} m where m.participant_id = a.participant_id)",
    )
    assert wrong == 0


def test_some_matches_are_rematches_and_some_participants_are_never_matched(synth_export: Path):
    reasons = _one(synth_export, "select list(distinct end_reason order by end_reason) from {matches}")
    assert {"rematched", "mentor_left", "completed", "participant_left"} <= set(reasons)
    unmatched = _one(
        synth_export,
        "select count(*) from {participants} where program_track = 'peer_mentoring' "
        "and participant_id not in (select participant_id from {matches})",
    )
    assert unmatched > 0


def test_small_site_has_eight_participants_at_1000(tmp_path: Path):
    truth = generate(tmp_path, participants=1000, seed=3)
    assert truth["sites"]["harbor"] == 8
    assert sorted(truth["sites"].values())[1] > 50


def test_same_seed_gives_byte_identical_files(tmp_path: Path):
    generate(tmp_path / "a", participants=200, seed=42)
    generate(tmp_path / "b", participants=200, seed=42)
    generate(tmp_path / "c", participants=200, seed=43)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a")["attendance.csv"] != _digest(tmp_path / "c")["attendance.csv"]


def test_sizes_scale_with_participants(tmp_path: Path):
    small = generate(tmp_path / "s", participants=250, seed=1)["rows"]
    large = generate(tmp_path / "l", participants=1000, seed=1)["rows"]
    assert (small["participants.csv"], large["participants.csv"]) == (250, 1000)
    for name in ("attendance.csv", "substance_use.csv", "milestones.csv", "matches.csv", "exits.csv"):
        assert 3.0 < large[name] / small[name] < 5.3, name


def test_truth_records_each_effect_with_its_model_and_one_null_effect(synth_export: Path):
    truth = json.loads((synth_export / "truth.json").read_text())
    assert (truth["seed"], truth["participants"], truth["as_of"]) == (11, 1500, "2026-06-30")
    effects = {e["name"]: e for e in truth["effects"]}
    assert set(effects) == {
        "relapse_mentor_certified", "relapse_same_substance", "relapse_same_gender",
        "relapse_dose_lag1", "dropout_main_format_group", "dropout_main_format_online",
    }  # fmt: skip
    assert effects["relapse_same_gender"]["hr"] == 1.0
    assert all("marts." in e["model"] and e["hr"] > 0 for e in effects.values())
    assert truth["rows"]["participants.csv"] == 1500


def test_messy_export_holds_each_recorded_fault_at_its_line(messy_pair):
    clean, messy, truth = messy_pair
    enums = {(e, c.name): c.values for e in FILES for c in ENTITIES[e].columns if c.kind == "enum"}
    for name in FILES:
        rows = _rows(messy / f"{name}.csv")
        header = rows[0]
        faults = [f for f in truth["fault_rows"] if f["file"] == f"{name}.csv"]
        assert (
            len(rows) - 1
            == truth["rows_written"][f"{name}.csv"]
            == truth["rows_clean"][f"{name}.csv"] + len(faults)
        )
        assert sum(truth["faults"].get(f"{name}.csv", {}).values()) == len(faults)
        for f in faults:
            row = dict(zip(header, rows[f["line"] - 1], strict=True))
            if f["fault"] == "duplicate_row":
                assert f["duplicate_of_line"] < f["line"]
                assert rows[f["line"] - 1] == rows[f["duplicate_of_line"] - 1]
                continue
            value = row[f["column"]]
            if f["fault"] == "missing_required":
                assert value == ""
            elif f["fault"] == "bad_date":
                with pytest.raises(ValueError):
                    date.fromisoformat(value)
            elif f["fault"] == "unknown_code":
                assert value not in enums[(name, f["column"])]
            elif f["fault"] == "orphan_session":
                assert value not in {r[0] for r in _rows(clean / "sessions.csv")}
            elif f["fault"] == "orphan_participant":
                assert value not in {r[0] for r in _rows(clean / "participants.csv")}
            elif f["fault"] == "date_before_enrollment":
                enrolled = {r[0]: r[2] for r in _rows(clean / "participants.csv")}
                assert value < enrolled[row["participant_id"]]
            elif f["fault"] == "date_order":  # connected_on before made_on
                assert value < row["made_on"]
            elif f["fault"] == "orphan_mentor":
                assert value not in {r[0] for r in _rows(clean / "mentors.csv")}
            else:
                pytest.fail(f"unexpected fault {f['fault']}")
    kinds = {k for per_file in truth["faults"].values() for k in per_file}
    assert kinds == {
        "duplicate_row", "bad_date", "unknown_code", "missing_required", "orphan_session",
        "orphan_participant", "date_before_enrollment", "date_order", "orphan_mentor",
    }  # fmt: skip


def test_messy_export_without_its_fault_rows_is_the_clean_export(messy_pair):
    clean, messy, truth = messy_pair
    for name in FILES:
        lines = {f["line"] for f in truth["fault_rows"] if f["file"] == f"{name}.csv"}
        m_rows = _rows(messy / f"{name}.csv")
        n_contract = len(ENTITIES[name].column_names)
        kept = [r[:n_contract] for i, r in enumerate(m_rows, start=1) if i not in lines]
        assert kept == _rows(clean / f"{name}.csv"), name


def test_only_the_messy_participants_file_has_a_bom_crlf_and_identifier_columns(messy_pair):
    clean, messy, truth = messy_pair
    raw = (messy / "participants.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\r\n") == raw.count(b"\n")
    assert _rows(messy / "participants.csv")[0][-len(IDENTIFIER_COLUMNS) :] == list(IDENTIFIER_COLUMNS)
    assert truth["planted_identifier_columns"] == {"participants.csv": list(IDENTIFIER_COLUMNS)}
    for p in clean.glob("*.csv"):
        data = p.read_bytes()
        assert not data.startswith(b"\xef\xbb\xbf") and b"\r\n" not in data
    assert (messy / "mentors.csv").read_bytes().count(b"\r\n") == 0


def test_bad_participant_count_ends_in_one_sentence_and_exit_1(tmp_path: Path):
    with pytest.raises(SynthError, match=r"^--participants must be between 1 and 2,000,000\.$"):
        generate(tmp_path, participants=0, seed=1)
    with pytest.raises(SynthError, match=r"^--messy needs at least 50 participants to plant its faults\.$"):
        generate(tmp_path, participants=49, seed=1, messy=True)
    run = subprocess.run(
        [sys.executable, "-c", "from peer_outcomes.dashboard.cli import main; main()", "synth", "--participants", "-5",
         "--out", str(tmp_path / "x")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 1
    assert run.stderr.strip() == "Error: --participants must be between 1 and 2,000,000."


def test_cli_writes_the_export_and_reports_rows(tmp_path: Path):
    run = subprocess.run(
        [sys.executable, "-c", "from peer_outcomes.dashboard.cli import main; main()", "synth", "--participants", "120",
         "--seed", "9", "--out", str(tmp_path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "participants.csv" in run.stdout and "120 rows" in run.stdout
    assert json.loads((tmp_path / "truth.json").read_text())["seed"] == 9


def test_marts_recover_the_true_hazard_ratios_within_their_95_percent_intervals(
    synth_export: Path, synth_warehouse: Path
):
    """lifelines Cox fits on the ETL-built marts cover every true HR in truth.json."""
    from lifelines import CoxPHFitter, CoxTimeVaryingFitter

    from peer_outcomes.pipelines.warehouse import connect_readonly

    hr = {e["name"]: e["hr"] for e in json.loads((synth_export / "truth.json").read_text())["effects"]}
    with connect_readonly(synth_warehouse) as con:
        po = con.execute(
            "select relapse_days, is_relapse, mentor_certified, same_substance, same_gender, retention_days, "
            "is_disengaged, main_format, is_matched from marts.participant_outcomes"
        ).df()
        dw = (
            con.execute(
                "select w.participant_key, w.start_days, w.stop_days, w.is_relapse, "
                "coalesce(lag(w.n_attended) over (partition by w.participant_key order by w.week), 0) as lag1, "
                "o.mentor_certified, o.same_substance, o.same_gender "
                "from marts.dose_weekly w join marts.participant_outcomes o using (participant_key) "
                "where o.is_matched = 1"
            )
            .df()
            .dropna()
        )
    fixed = po[po.is_matched == 1][
        ["relapse_days", "is_relapse", "mentor_certified", "same_substance", "same_gender"]
    ]
    fixed = fixed.dropna().astype(float)
    fixed = fixed[fixed.relapse_days > 0]
    cox = CoxPHFitter().fit(fixed, "relapse_days", "is_relapse").summary
    drop = po[po.main_format.isin(["one_on_one", "group", "online"])].copy()
    drop["group"] = (drop.main_format == "group").astype(float)
    drop["online"] = (drop.main_format == "online").astype(float)
    drop = drop[drop.retention_days > 0][["retention_days", "is_disengaged", "group", "online"]].astype(float)
    dcox = CoxPHFitter().fit(drop, "retention_days", "is_disengaged").summary
    tv = CoxTimeVaryingFitter().fit(
        dw.astype(float), id_col="participant_key", start_col="start_days", stop_col="stop_days",
        event_col="is_relapse",
    ).summary  # fmt: skip
    expected = [
        (cox, "mentor_certified", hr["relapse_mentor_certified"]),
        (cox, "same_substance", hr["relapse_same_substance"]),
        (cox, "same_gender", hr["relapse_same_gender"]),
        (tv, "lag1", hr["relapse_dose_lag1"]),
        (tv, "mentor_certified", hr["relapse_mentor_certified"]),
        (tv, "same_substance", hr["relapse_same_substance"]),
        (dcox, "group", hr["dropout_main_format_group"]),
        (dcox, "online", hr["dropout_main_format_online"]),
    ]
    for summary, term, true_hr in expected:
        lo, hi = summary.loc[term, "exp(coef) lower 95%"], summary.loc[term, "exp(coef) upper 95%"]
        assert lo <= true_hr <= hi, f"{term}: true HR {true_hr} outside [{lo:.3f}, {hi:.3f}]"
    # the strong effects are found, not just covered by wide intervals
    assert dcox.loc["group", "exp(coef) lower 95%"] > 1
    assert tv.loc["lag1", "exp(coef) upper 95%"] < 1


def test_generator_effects_are_defined_on_exactly_what_the_marts_expose(
    synth_export: Path, synth_warehouse: Path
):
    """The generating model's inputs equal, participant by participant, what the ETL-built marts make of the
    written files: mentor features (marts.match_features via participant_outcomes), the first-relapse day and its
    censoring (marts.relapse) and last week's sessions (marts.dose_weekly). So each true HR in truth.json is the
    HR of exactly the mart column the analysis fits (a drift here would bias recovery, not just widen it)."""
    import numpy as np
    import pandas as pd

    from peer_outcomes.pipelines.pseudonym import load_key, pseudonymize_many
    from peer_outcomes.pipelines.synth import simulate
    from peer_outcomes.pipelines.warehouse import connect_readonly

    truth = json.loads((synth_export / "truth.json").read_text())
    sim = simulate(np.random.default_rng(truth["seed"]), truth["participants"])
    x, first = sim["features"], sim["first_relapse"]
    pids = pseudonymize_many(sim["people"]["pid"].tolist(), "participant", load_key())
    gen = pd.DataFrame({"participant_pid": pids, "g_matched": x["matched"], "g_certified": x["certified"],
                        "g_same_substance": x["same_substance"], "g_same_gender": x["same_gender"],
                        "g_first": first})  # fmt: skip
    person, week_dose = sim["week_dose"]
    g_dose = pd.DataFrame(
        {"participant_pid": [pids[i] for i in person], "week": week_dose[:, 0] + 1, "g_lag1": week_dose[:, 1]}
    )  # fmt: skip  (week w's sessions are week w+1's lag)
    with connect_readonly(synth_warehouse) as con:
        po = con.execute(
            "select p.participant_pid, o.is_matched, o.mentor_certified, o.same_substance, o.same_gender, "
            "o.relapse_days, o.is_relapse from marts.participant_outcomes o join main.participants p "
            "using (participant_key)"
        ).df()
        dw = con.execute(
            "select p.participant_pid, d.week, coalesce(lag(d.n_attended) over "
            "(partition by d.participant_key order by d.week), 0) as lag1 from marts.dose_weekly d "
            "join main.participants p using (participant_key)"
        ).df()
    m = po.merge(gen, on="participant_pid", how="outer", validate="one_to_one", indicator=True)
    assert (m["_merge"] == "both").all() and len(m) == truth["participants"]
    assert (m.is_matched == m.g_matched.astype(int)).all()
    matched = m[m.is_matched == 1]
    assert matched.mentor_certified.notna().all()
    assert (matched.mentor_certified == matched.g_certified.astype(int)).all()
    for col in ("same_substance", "same_gender"):
        known = matched[matched[col].notna()]
        assert (known[col] == known[f"g_{col}"].astype(int)).all(), col
        assert not matched.loc[matched[col].isna(), f"g_{col}"].any(), (
            f"{col}: null in the mart, 1 in the model"
        )
    assert matched.same_substance.isna().sum() < 0.1 * len(matched)  # the comparison is not vacuous
    events = m[m.is_relapse == 1]
    assert len(events) > 100 and (events.relapse_days == events.g_first).all()
    assert (m.loc[m.is_relapse == 0, "g_first"] > m.loc[m.is_relapse == 0, "relapse_days"]).all()
    d = dw.merge(g_dose, on=["participant_pid", "week"], how="left").fillna({"g_lag1": 0})
    assert len(d) > 10_000 and (d.lag1 > 0).mean() > 0.5
    assert (d.lag1 == d.g_lag1).all()
