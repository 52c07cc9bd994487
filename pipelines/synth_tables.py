"""Turn the synthetic program's arrays into the contract's tables (pyarrow) for `pipelines.synth`.

Sessions are derived here: group, online and workshop sessions are shared per site and date (one of each
a day at most), one-on-one sessions are one per meeting, facilitated by the participant's mentor of the day.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from peer_outcomes.pipelines.synth_activity import (
    EXIT_OTHER,
    FORMATS,
    ONE,
    ONLINE,
    OUT_COMPLETED,
    OUT_DISENGAGED,
    OUT_EXIT,
    STATUSES,
)
from peer_outcomes.pipelines.synth_people import (
    END_REASON_REMATCH,
    GENDERS,
    HOUSING,
    RACES,
    REFERRALS,
    SITE_CODES,
    SITES,
    SUBSTANCES,
    TRACKS,
)

TOPICS = {
    0: ("check_in", "goal_setting", "resources", "crisis_plan", "family"),
    1: ("relapse_prevention", "coping_skills", "family", "employment", "wellness", "step_work"),
    2: ("check_in", "coping_skills", "wellness", "mindfulness"),
    3: ("naloxone", "job_readiness", "housing", "benefits", "parenting"),
}
DURATIONS = {0: (30, 45, 60), 1: (60, 90), 2: (45, 60), 3: (120, 180)}
LETTER = {1: "G", 2: "O", 3: "W"}


def labels(values: tuple[str, ...], idx: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Strings for integer codes; `mask` True means missing (an empty CSV field)."""
    out = pa.array(values, pa.string()).take(pa.array(idx.astype(np.int64)))
    if mask is not None:
        out = pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), out)
    return out


def dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """date32 values for integer days since 1970-01-01; `mask` True means missing."""
    return pa.array(np.asarray(days, dtype=np.int64).astype("datetime64[D]"), pa.date32(), mask=mask)


def ids(values: np.ndarray, idx: np.ndarray) -> pa.Array:
    """Identifier strings for indexes into `values`; a negative index is a missing id."""
    arr = pa.array(values.tolist(), pa.string()).take(pa.array(np.maximum(idx, 0)))
    return pc.if_else(pa.array(idx < 0), pa.scalar(None, pa.string()), arr)


def participants_table(people: dict) -> pa.Table:
    return pa.table(
        {
            "participant_id": pa.array(people["pid"].tolist(), pa.string()),
            "site": labels(SITES, people["site"]),
            "enrolled_on": dates(people["enrolled"]),
            "program_track": labels(TRACKS, people["track"]),
            "age_at_enrollment": pa.array(people["age"]),
            "gender": labels(GENDERS, people["gender"]),
            "race_ethnicity": labels(RACES, people["race"]),
            "primary_substance": labels(SUBSTANCES, people["substance"]),
            "referral_source": labels(REFERRALS, people["referral"]),
            "recovery_start_on": dates(people["recovery_start"], ~people["has_recovery_start"]),
            "prior_treatment_episodes": pa.array(people["prior"]),
            "housing_at_intake": labels(HOUSING, people["housing"]),
            "employed_at_intake": pa.array(people["employed"], pa.bool_(), mask=~people["employed_known"]),
        }
    )


def mentors_table(mentors: dict) -> pa.Table:
    return pa.table(
        {
            "mentor_id": pa.array(mentors["mid"].tolist(), pa.string()),
            "site": labels(SITES, mentors["site"]),
            "started_on": dates(mentors["started"]),
            "recovery_start_on": dates(mentors["recovery_start"]),
            "certified_on": dates(mentors["certified"], ~mentors["is_certified"]),
            "gender": labels(GENDERS, mentors["gender"]),
            "primary_substance": labels(SUBSTANCES, mentors["substance"]),
            "former_participant_id": pa.nulls(mentors["mid"].size, pa.string()),
        }
    )


def exits_arrays(eng: dict) -> tuple[np.ndarray, np.ndarray]:
    """Exit day since enrollment (-1 if none) and reason index into contract EXIT_REASONS order."""
    reasons = ("completed", "dropped_out", "transferred", "moved", "incarcerated", "deceased", "other")
    out, f, d, c = eng["outcome"], eng["f"], eng["d"], eng["c"]
    day = np.full(out.size, -1, dtype=np.int64)
    reason = np.zeros(out.size, dtype=np.int64)
    day[out == OUT_COMPLETED] = f[out == OUT_COMPLETED]
    other = out == OUT_EXIT
    day[other] = f[other]
    reason[other] = np.array([reasons.index(r) for r in EXIT_OTHER])[eng["exit_other"][other]]
    dropped = (out == OUT_DISENGAGED) & eng["dropout_recorded"] & (d + 14 <= c)
    day[dropped] = d[dropped]
    reason[dropped] = 1
    return day, reason


def exits_table(people: dict, eng: dict) -> pa.Table:
    day, reason = exits_arrays(eng)
    who = np.flatnonzero(day >= 0)
    reasons = ("completed", "dropped_out", "transferred", "moved", "incarcerated", "deceased", "other")
    return pa.table(
        {
            "participant_id": pa.array(people["pid"][who].tolist(), pa.string()),
            "exit_on": dates(people["enrolled"][who] + day[who]),
            "reason": labels(reasons, reason[who]),
        }
    )


def matches_table(people: dict, mentors: dict, eng: dict, matches: dict) -> pa.Table:
    """One row per match; a match ends at the next one (rematched / mentor_left), at the exit
    (completed / participant_left), 45 days after disengagement, or stays open."""
    exit_day, _ = exits_arrays(eng)
    days, mentor, reason = matches["days"], matches["mentor"], matches["reason"]
    ends = ("completed", "rematched", "participant_left", "mentor_left", "other")
    cols: dict[str, list] = {k: [] for k in ("p", "k", "start", "end", "reason")}
    for k in range(3):
        who = np.flatnonzero(mentor[:, k] >= 0)
        has_next = np.zeros(who.size, bool) if k == 2 else mentor[who, k + 1] >= 0
        nxt = days[who, k + 1] if k < 2 else np.zeros(who.size, np.int64)
        left_at = eng["d"][who] + 45
        gone = (
            (eng["outcome"][who] == OUT_DISENGAGED) & (left_at <= eng["c"][who]) & (left_at >= days[who, k])
        )
        end = np.where(
            has_next, nxt, np.where(exit_day[who] >= 0, exit_day[who], np.where(gone, left_at, -1))
        )
        why = np.where(
            has_next,
            np.where(
                reason[who, k] == 0, ends.index(END_REASON_REMATCH[0]), ends.index(END_REASON_REMATCH[1])
            ),
            np.where(eng["outcome"][who] == OUT_COMPLETED, 0, 2),
        )
        for key, val in zip(cols, (who, np.full(who.size, k), days[who, k], end, why), strict=True):
            cols[key].append(val)
    p, k, start, end, why = (np.concatenate(v) for v in cols.values())
    order = np.lexsort((k, p))
    p, k, start, end, why = p[order], k[order], start[order], end[order], why[order]
    base = people["enrolled"][p]
    return pa.table(
        {
            "participant_id": pa.array(people["pid"][p].tolist(), pa.string()),
            "mentor_id": ids(mentors["mid"], mentor[p, k]),
            "matched_on": dates(base + start),
            "ended_on": dates(base + np.maximum(end, 0), end < 0),
            "end_reason": labels(ends, why, end < 0),
        }
    )


def sessions_and_attendance(
    rng: np.random.Generator, people: dict, mentors: dict, matches: dict, att: dict
) -> tuple[pa.Table, pa.Table]:
    """The sessions behind the attendance rows, and the attendance rows pointing at them."""
    person, fmt, day = att["person"], att["format"], att["day"]
    when = people["enrolled"][person] + day
    site = people["site"][person]
    base = int(when.min()) if when.size else 0
    one = fmt == ONE
    key = (site.astype(np.int64) * 100_000 + (when - base)) * 4 + fmt
    shared, inv = np.unique(key[~one], return_inverse=True)
    s_fmt = shared % 4
    s_when = (shared // 4) % 100_000 + base
    s_site = shared // 400_000
    one_rows = np.flatnonzero(one)
    # session attributes: shared sessions first, then one-on-ones in attendance-row order
    n_sh, n_one = shared.size, one_rows.size
    all_fmt = np.concatenate([s_fmt, np.zeros(n_one, np.int64)])
    all_when = np.concatenate([s_when, when[one_rows]])
    all_site = np.concatenate([s_site, site[one_rows]])
    fac = mentors["site_start"][s_site] + np.floor(rng.random(n_sh) * mentors["site_count"][s_site]).astype(
        np.int64
    )
    fac = np.where((s_fmt == ONLINE) & (rng.random(n_sh) < 0.25), -1, fac)
    m_days, m_ment = matches["days"][person[one_rows]], matches["mentor"][person[one_rows]]
    slot = (day[one_rows, None] >= m_days).sum(axis=1) - 1  # the match in force that day
    one_fac = np.where(slot >= 0, m_ment[np.arange(n_one), np.maximum(slot, 0)], -1)
    all_fac = np.concatenate([fac, one_fac])
    duration = np.zeros(all_fmt.size, np.int64)
    topic = np.zeros(all_fmt.size, np.int64)
    topic_names: list[str] = []
    for f_code in range(4):
        sel = np.flatnonzero(all_fmt == f_code)
        durs = np.array(DURATIONS[f_code])
        duration[sel] = durs[rng.integers(0, durs.size, sel.size)]
        topic[sel] = len(topic_names) + rng.integers(0, len(TOPICS[f_code]), sel.size)
        topic_names.extend(TOPICS[f_code])
    # final order: by date, then site, then shared before one-on-one, then creation order
    order = np.lexsort((np.arange(all_fmt.size), all_fmt == ONE, all_site, all_when))
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    stamp = np.datetime_as_string(s_when.astype("datetime64[D]"))
    sh_ids = [
        f"{SITE_CODES[s]}-{t.replace('-', '')}-{LETTER[f]}"
        for s, t, f in zip(s_site.tolist(), stamp.tolist(), s_fmt.tolist(), strict=True)
    ]
    one_num = position[n_sh:]  # one-on-one ids follow the session order, so they read chronologically
    one_ids = pc.binary_join_element_wise(
        "S", pc.utf8_lpad(pc.cast(pa.array(one_num + 1), pa.string()), 8, "0"), ""
    )
    all_ids = pa.concat_arrays([pa.array(sh_ids, pa.string()), one_ids])
    sessions = pa.table(
        {
            "session_id": all_ids,
            "site": labels(SITES, all_site),
            "session_date": dates(all_when),
            "format": labels(FORMATS, all_fmt),
            "mentor_id": ids(mentors["mid"], all_fac),
            "duration_minutes": pa.array(duration),
            "topic": labels(tuple(topic_names), topic),
        }
    ).take(pa.array(order))
    sess_of_row = np.empty(person.size, np.int64)
    sess_of_row[~one] = inv
    sess_of_row[one_rows] = n_sh + np.arange(n_one)
    row_order = np.lexsort((person, position[sess_of_row]))
    attendance = pa.table(
        {
            "session_id": all_ids.take(pa.array(sess_of_row[row_order])),
            "participant_id": pa.array(people["pid"].tolist(), pa.string()).take(pa.array(person[row_order])),
            "status": labels(STATUSES, att["status"][row_order]),
        }
    )
    return sessions, attendance


def substance_use_table(people: dict, rows: dict) -> pa.Table:
    order = np.lexsort((rows["kind"], rows["day"], rows["person"]))
    p = rows["person"][order]
    return pa.table(
        {
            "participant_id": pa.array(people["pid"][p].tolist(), pa.string()),
            "event_on": dates(people["enrolled"][p] + rows["day"][order]),
            "kind": labels(("lapse", "relapse"), rows["kind"][order]),
            "substance": labels(SUBSTANCES, rows["substance"][order]),
            "source": labels(("self_report", "test", "collateral", "other"), rows["source"][order]),
        }
    )


def milestones_table(people: dict, rows: dict) -> pa.Table:
    return pa.table(
        {
            "participant_id": pa.array(people["pid"][rows["person"]].tolist(), pa.string()),
            "milestone_days": pa.array(rows["milestone_days"]),
            "achieved_on": dates(rows["achieved"]),
        }
    )
