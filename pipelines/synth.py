"""A synthetic peer-mentoring program export with known true effects, for tests, demos and benchmarks.

`generate(out_dir, participants, seed)` writes the contract's eight CSV files (UTF-8, header row, ISO dates)
and `truth.json`: the seed, N, as_of, the generating model in words and every true effect as a hazard ratio
with the exact model on the marts that recovers it (docs/synthetic.md). Same seed, same bytes: every draw
comes from one seeded numpy Generator in a fixed order and nothing reads the clock. `messy=True` adds
realistic faults as extra rows (the clean rows stay as they are) and records each in `truth.json`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from peer_outcomes.pipelines import synth_activity as act
from peer_outcomes.pipelines import synth_people as ppl
from peer_outcomes.pipelines import synth_practice as prc
from peer_outcomes.pipelines import synth_tables as tbl
from peer_outcomes.pipelines.contract import LOAD_ORDER
from peer_outcomes.pipelines.errors import UserError

GENERATOR_VERSION = 2  # 2: the mentoring-practice files; check-ins in the relapse hazard
FILES = LOAD_ORDER  # one file per contract entity
MAX_PARTICIPANTS = 2_000_000
MIN_MESSY = 50


class SynthError(UserError):
    """Bad arguments for the synthetic generator."""


def mentor_features(people: dict, mentors: dict, matches: dict) -> dict[str, np.ndarray]:
    """The first match's features, as marts.match_features defines them; where the mart has null (unmatched,
    or gender / substance unknown or other on either side) the feature is False: no effect."""
    m0 = matches["mentor"][:, 0]
    matched = m0 >= 0
    mm = np.maximum(m0, 0)
    matched_on = people["enrolled"] + np.where(matched, matches["days"][:, 0], 0)
    certified = matched & mentors["is_certified"][mm] & (mentors["certified"][mm] <= matched_on)
    known_g = np.array([g in ("female", "male", "nonbinary") for g in ppl.GENDERS])
    known_s = np.array([s not in ("unknown", "other") for s in ppl.SUBSTANCES])
    g_ok = matched & known_g[people["gender"]] & known_g[mentors["gender"][mm]]
    s_ok = matched & known_s[people["substance"]] & known_s[mentors["substance"][mm]]
    return {
        "matched": matched,
        "certified": certified,
        "same_gender": g_ok & (people["gender"] == mentors["gender"][mm]),
        "same_substance": s_ok & (people["substance"] == mentors["substance"][mm]),
    }


def _effects() -> list[dict]:
    """Each true effect: name, outcome, variable, unit, HR and the exact model on the marts that recovers it."""
    fixed = (
        "Cox (Efron ties) on marts.participant_outcomes where is_matched = 1: "
        "(relapse_days, is_relapse) ~ mentor_certified + same_substance + same_gender"
    )
    tv = (
        "time-varying Cox on marts.dose_weekly rows (start_days, stop_days], event is_relapse, of participants "
        "with is_matched = 1: ~ n_attended_lag1 + mentor_certified + same_substance + same_gender, where "
        "n_attended_lag1 is n_attended of the same participant's previous week (0 in week 0) and the mentor "
        "features come from marts.participant_outcomes"
    )
    drop = (
        "Cox (Efron ties) on marts.participant_outcomes where main_format in ('one_on_one', 'group', 'online'): "
        "(retention_days, is_disengaged) ~ C(main_format, reference 'one_on_one'); completion and other exits "
        "censor (cause-specific hazard)"
    )
    note_fixed = (
        "the generating hazard also depends on last week's sessions (relapse_dose_lag1); leaving that out of a "
        "time-fixed model attenuates these log-HRs slightly towards 0; the time-varying model is correctly specified"
    )
    e = [
        (
            "relapse_mentor_certified",
            "relapse",
            "mentor_certified",
            "1 = first mentor certified on or before the first match date; 0 = not (yet) certified",
            act.HR_CERTIFIED,
            fixed,
            note_fixed,
        ),
        (
            "relapse_same_substance",
            "relapse",
            "same_substance",
            "1 = first mentor's primary substance equals the participant's; null (left out) when either is "
            "unknown or other, which the generator treats as 0",
            act.HR_SAME_SUBSTANCE,
            fixed,
            note_fixed,
        ),
        (
            "relapse_same_gender",
            "relapse",
            "same_gender",
            "1 = same gender as the first mentor; null (left out) when either is unknown or other, which the "
            "generator treats as 0; true HR exactly 1 (no effect)",
            act.HR_SAME_GENDER,
            fixed,
            note_fixed,
        ),
        (
            "relapse_dose_lag1",
            "relapse",
            "n_attended_lag1",
            "per session attended (any format) in the previous week",
            act.HR_DOSE,
            tv,
            "the same model also recovers the three mentor effects exactly",
        ),
        (
            "dropout_main_format_group",
            "disengagement",
            "main_format = group",
            "vs main_format = one_on_one",
            act.HR_DROPOUT["group"],
            drop,
            "",
        ),
        (
            "dropout_main_format_online",
            "disengagement",
            "main_format = online",
            "vs main_format = one_on_one",
            act.HR_DROPOUT["online"],
            drop,
            "",
        ),
    ]
    keys = ("name", "outcome", "variable", "unit", "hr", "model", "note")
    return [dict(zip(keys, row, strict=True)) for row in e]


GENERATING_MODEL = (
    "Participants enroll on weekdays over the 900 days before as_of at six sites (one with 8 people at N >= 1000), "
    "on track peer_mentoring or usual_care. Each has a main session format (peer: one_on_one 45%, group 35%, online 20%; "
    "usual care: group 70%, online 30%) and attends at least one session every week, the main format a strict majority "
    "of each week's attended sessions, on days 7w+1..7w+6 since enrollment (never a multiple of 7); extra sessions decline "
    "with weeks in the program at a person-specific rate. The engaged spell ends at the first of: disengagement day "
    "D = ceil(T), T ~ Exp(0.004/day x HR[main_format]) (a D on a multiple of 7 moves one day earlier), when the last "
    "attended session is on day D exactly; completion (peer: day 182-365, usual care: 120-240); another exit (moved, "
    "incarcerated, transferred, other, deceased; Exp(0.0004/day)); or as_of. 3% never attend. 80% of disengagements "
    "get a dropped_out exit dated D when recorded by as_of (D + 14 days). First relapse: daily hazard "
    "0.004 x exp(log(HR_certified) x mentor_certified + log(HR_same_substance) x same_substance + log(HR_same_gender) x "
    "same_gender + log(HR_dose) x a[w-1] + log(0.80) x r[w-1]) on days (7w, 7w+7], a[w-1] = sessions attended in week "
    "w-1 (0 for w = 0, and 0 after the spell ends), r[w-1] = check-ins reached in week w-1 (practice_effects), mentor features from the first match exactly as marts.match_features defines them (0 "
    "where the mart has null: unmatched, or gender / substance unknown or other on either side), independent of disengagement "
    "given these. Later relapses (0.004/day) and lapses (0.002/day) are Poisson; events are recorded up to an exit, else "
    "as_of. Milestones 30..730 days from recovery_start_on (else enrollment) are recorded when reached before the first "
    "relapse and by the end of contact."
)


def _write(table: pa.Table, path: Path) -> None:
    pacsv.write_csv(table, path, pacsv.WriteOptions(include_header=True, quoting_style="needed"))


def generate(out_dir: Path, participants: int, seed: int, messy: bool = False) -> dict:
    """Write a synthetic program export (contract CSVs + truth.json) into `out_dir`; return the truth dict."""
    if not 1 <= participants <= MAX_PARTICIPANTS:
        raise SynthError(f"--participants must be between 1 and {MAX_PARTICIPANTS:,}.")
    if messy and participants < MIN_MESSY:
        raise SynthError(f"--messy needs at least {MIN_MESSY} participants to plant its faults.")
    out_dir = prepare(out_dir, seed)

    tables, truth = program_tables(np.random.default_rng(seed), seed, participants, messy)
    for name in FILES:
        _write(tables[name], out_dir / f"{name}.csv")
    if messy:
        from peer_outcomes.pipelines.synth_messy import bom_and_crlf

        for name in truth["bom_crlf_files"]:
            bom_and_crlf(out_dir / name)
    (out_dir / "truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    return truth


def prepare(out_dir: Path, seed: int) -> Path:
    """Check the seed and create the output folder; one sentence if either is wrong."""
    if seed < 0:
        raise SynthError("--seed must be a non-negative integer.")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SynthError(f"The output path {out_dir} exists and is not a folder.")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SynthError(f"Could not create the folder {out_dir}: {exc.strerror}.") from exc
    return out_dir


def program_tables(rng: np.random.Generator, seed: int, participants: int, messy: bool = False) -> tuple[dict, dict]:
    """One program's contract tables (pyarrow, by entity) and its truth dict, drawn from `rng` in a fixed order."""
    sim = simulate(rng, participants)
    people, mentors, eng, matches, x = (sim[k] for k in ("people", "mentors", "eng", "matches", "features"))
    sessions, attendance = tbl.sessions_and_attendance(rng, people, mentors, matches, sim["attendance"])
    graduates = prc.graduate_mentors_table(people, sim["practice"]["graduates"], 10 ** len(mentors["mid"][0]))
    mentor_ids = np.concatenate([mentors["mid"], np.array(graduates.column("mentor_id").to_pylist(), dtype=object)])
    tables = {
        "participants": tbl.participants_table(people),
        "mentors": pa.concat_tables([tbl.mentors_table(mentors), graduates]),
        "matches": tbl.matches_table(people, mentors, eng, matches),
        "sessions": sessions,
        "attendance": attendance,
        "milestones": tbl.milestones_table(people, act.make_milestones(people, eng, sim["first_relapse"])),
        "substance_use": tbl.substance_use_table(people, sim["substance_use"]),
        "exits": tbl.exits_table(people, eng),
        **prc.practice_tables(people, mentor_ids, sim["practice"]),
    }
    truth = _truth(seed, participants, messy, people, eng, x, tables)
    if messy:
        from peer_outcomes.pipelines.synth_messy import plant_faults

        tables, faults = plant_faults(np.random.default_rng([seed, 1]), tables, people)
        truth.update(faults)
    return tables, truth


def simulate(rng: np.random.Generator, participants: int) -> dict:
    """The program before it becomes tables, drawn in generate()'s order: people, mentors, engagement (`eng`),
    matches, the first match's `features` (mentor_features), `attendance` rows, `week_dose` (person,
    [week, sessions attended]) and `first_relapse` (day since enrollment, huge if none) — so a test can hold
    the generating model's inputs against what the marts make of the written files."""
    people = ppl.make_participants(rng, participants)
    mentors = ppl.make_mentors(rng, people)
    eng = act.make_engagement(rng, people)
    exit_day, _ = tbl.exits_arrays(eng)
    limit = np.where(exit_day >= 0, exit_day, eng["c"])
    eligible = (people["track"] == 0) & ~eng["never"]
    matches = ppl.make_matches(rng, people, mentors, eligible, limit)
    x = mentor_features(people, mentors, matches)
    lin = (
        np.log(act.HR_CERTIFIED) * x["certified"]
        + np.log(act.HR_SAME_SUBSTANCE) * x["same_substance"]
        + np.log(act.HR_SAME_GENDER) * x["same_gender"]
    )
    # the practice files have a generator of their own, so the draws above and below are unchanged by them
    practice = prc.make_practice(rng.spawn(1)[0], people, mentors, eng, matches)
    att, pw_person, week_dose = act.make_attendance(rng, people, eng)
    use_rows, first = act.make_substance_use(
        rng, people, eng, (pw_person, week_dose), lin, practice["check_in_weeks"], prc.HR_CHECK_IN
    )
    return {
        "people": people,
        "mentors": mentors,
        "eng": eng,
        "matches": matches,
        "features": x,
        "attendance": att,
        "week_dose": (pw_person, week_dose),
        "substance_use": use_rows,
        "first_relapse": first,
        "practice": practice,
    }


def _truth(seed: int, n: int, messy: bool, people: dict, eng: dict, x: dict, tables: dict) -> dict:
    """truth.json: the run's identity, the generating model, the true effects and what was written."""
    outcome_names = ("disengaged", "completed", "other_exit", "as_of")
    return {
        "generator": "pipelines.synth",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "participants": n,
        "messy": messy,
        "as_of": ppl.AS_OF.isoformat(),
        "enrollment_from": str(np.datetime64(int(people["enrolled"].min()), "D")),
        "enrollment_to": str(np.datetime64(int(people["enrolled"].max()), "D")),
        "gap_days_max_while_engaged": 12,
        "generating_model": GENERATING_MODEL,
        "effects": _effects(),
        "practice_effects": prc.practice_effects(),
        "parameters": {
            "daily_dropout_hazard_one_on_one": act.LAMBDA_DROPOUT,
            "daily_first_relapse_hazard_baseline": act.LAMBDA_RELAPSE,
            "daily_other_exit_hazard": act.LAMBDA_EXIT_OTHER,
            "daily_repeat_relapse_rate": act.RATE_REPEAT_RELAPSE,
            "daily_lapse_rate": act.RATE_LAPSE,
            "share_never_attending": act.P_NEVER_ATTEND,
            "share_dropouts_with_exit_recorded": act.P_DROPOUT_EXIT_RECORDED,
        },
        "sites": {
            s: int(c) for s, c in zip(ppl.SITES, np.bincount(people["site"], minlength=6), strict=True)
        },
        "small_site": ppl.SITES[5],
        "tracks": {
            t: int(c) for t, c in zip(ppl.TRACKS, np.bincount(people["track"], minlength=2), strict=True)
        },
        "spell_ends": {
            o: int(c) for o, c in zip(outcome_names, np.bincount(eng["outcome"], minlength=4), strict=True)
        },
        "matched": int(x["matched"].sum()),
        "rows": {f"{name}.csv": tables[name].num_rows for name in FILES},
    }
