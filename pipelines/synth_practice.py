"""Synthetic mentoring practice for `pipelines.synth`: check-ins, goals, referrals, mentor months, incidents,
and completers who become mentors (docs/synthetic.md, "Mentoring practice").

Drawn from a generator of its own (spawned from the program's, so the people, sessions and matches of a seed
are the same as before these files existed). The true values are in `truth.json` → `practice_effects`:

- Check-ins: matched participants, weeks after the first match while engaged; attempts ~ Binomial(3, q_i),
  q_i ~ Beta(1.2, 1.8), each reached with probability 0.75. The number reached in week w-1 multiplies the
  first-relapse hazard of week w by HR_CHECK_IN (synth_activity.make_substance_use).
- Treatment referrals connect eventually with probability 0.7, after 1 + floor(Exp(mean 12 days)) days.
- Incidents: Poisson per active mentor-month, INCIDENT_RATE per 100 supervised months (supervision_hours
  >= 1) and INCIDENT_RR times that in unsupervised ones.
- Completers become mentors with probability P_GRADUATE, 60-540 days (uniform) after completion.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from peer_outcomes.pipelines.contract import (
    CHECK_IN_MODES,
    GOAL_DOMAINS,
    GOAL_STATUSES,
    INCIDENT_KINDS,
    REFERRAL_OUTCOMES,
    RESOURCE_TYPES,
    SEVERITIES,
)
from peer_outcomes.pipelines.synth_activity import OUT_COMPLETED, OUT_DISENGAGED
from peer_outcomes.pipelines.synth_people import AS_OF_DAY, ENROLL_DAYS, GENDERS, SITES, SUBSTANCES
from peer_outcomes.pipelines.synth_tables import dates, exits_arrays, ids, labels

HR_CHECK_IN = 0.80  # first-relapse HR per check-in reached in the previous week
P_REACHED = 0.75
MODE_P = (0.12, 0.45, 0.35, 0.08)  # in_person, phone, text, video

REFERRALS_PER_ENGAGED_WEEK = 0.06
RESOURCE_P = (0.30, 0.10, 0.05, 0.20, 0.12, 0.10, 0.04, 0.06, 0.03)  # contract RESOURCE_TYPES order
CONNECT = {"treatment": (0.70, 12.0), "other": (0.50, 20.0)}  # P(ever connects), mean days to connect

GOAL_DOMAIN_P = (0.35, 0.12, 0.12, 0.15, 0.06, 0.12, 0.04, 0.04)
GOAL_MET_RATE, GOAL_ABANDON_RATE = 1 / 150, 1 / 400  # competing daily hazards from set_on
P_REVISED = 0.2  # goals still open at as_of marked revised

INCIDENT_RATE = 3.0  # per 100 active, supervised mentor-months
INCIDENT_RR = 2.5  # unsupervised (supervision_hours < 1) vs supervised months
KIND_P = (0.45, 0.15, 0.15, 0.15, 0.10)
SEVERITY_P = (0.6, 0.3, 0.1)

P_GRADUATE = 0.20  # completers who ever become mentors
GRADUATE_DELAY = (60, 540)  # days after completion, uniform (inclusive)


def _month(day: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of integer days."""
    return np.asarray(day, np.int64).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _month_start(month: np.ndarray) -> np.ndarray:
    return np.asarray(month, np.int64).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def mentor_on(matches: dict, person: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The mentor of each participant's match open on `day` (days since enrollment): the latest started."""
    k = (matches["days"][person, 1] <= day).astype(np.int64) + (matches["days"][person, 2] <= day)
    return matches["mentor"][person, k]


def make_practice(rng: np.random.Generator, people: dict, mentors: dict, eng: dict, matches: dict) -> dict:
    """Every practice array, drawn in a fixed order; `check_in_weeks` (person, [week, reached]) feeds the
    relapse model."""
    out = {"check_ins": _check_ins(rng, people, eng, matches)}
    p = out["check_ins"]
    key = np.unique(np.stack([p["person"], p["day"] // 7], axis=1), axis=0, return_inverse=True)
    weeks, inverse = key[0], key[1].ravel()
    reached = np.bincount(inverse, weights=p["reached"], minlength=weeks.shape[0]).astype(np.int64)
    out["check_in_weeks"] = (weeks[:, 0], np.stack([weeks[:, 1], reached], axis=1))
    out["goals"] = _goals(rng, people, eng, matches)
    out["referrals"] = _referrals(rng, people, eng, matches)
    out["graduates"] = _graduates(rng, people, eng)
    out["activity"], out["incidents"] = _activity(rng, people, mentors, eng, matches, out["graduates"])
    return out


def _matched_weeks(people: dict, eng: dict, matches: dict) -> tuple[np.ndarray, np.ndarray]:
    """(person, week) for every whole week after the first match, while engaged."""
    m0 = matches["days"][:, 0]
    matched = (matches["mentor"][:, 0] >= 0) & ~eng["never"]
    first = np.where(matched, m0 // 7 + 1, 0)
    last = np.where(matched, eng["f"] // 7, -1)
    n = np.maximum(last - first + 1, 0)
    person = np.repeat(np.arange(n.size), n)
    week = np.arange(person.size) - np.repeat(np.cumsum(n) - n, n) + first[person]
    return person, week


def _check_ins(rng: np.random.Generator, people: dict, eng: dict, matches: dict) -> dict:
    person, week = _matched_weeks(people, eng, matches)
    q = rng.beta(1.2, 1.8, people["site"].size)
    k = rng.binomial(3, q[person])
    offsets = np.argsort(rng.random((person.size, 6)), axis=1) + 1  # distinct weekdays 1..6 of the week
    r, j = np.nonzero(np.arange(6)[None, :] < k[:, None])
    p = person[r]
    day = 7 * week[r] + offsets[r, j]
    keep = day <= eng["f"][p]  # within the engaged spell (which ends by as_of)
    p, day = p[keep], day[keep]
    return {
        "person": p,
        "day": day,
        "mentor": mentor_on(matches, p, day),
        "mode": rng.choice(len(CHECK_IN_MODES), size=p.size, p=MODE_P),
        "reached": rng.random(p.size) < P_REACHED,
    }


def _goals(rng: np.random.Generator, people: dict, eng: dict, matches: dict) -> dict:
    n = people["site"].size
    matched = (matches["mentor"][:, 0] >= 0) & ~eng["never"] & (eng["f"] > matches["days"][:, 0])
    count = np.where(matched, 1 + rng.poisson(1.2, n), 0)
    p = np.repeat(np.arange(n), count)
    m0 = matches["days"][p, 0]
    span = np.minimum(60, eng["f"][p] - m0)
    set_day = m0 + 1 + np.floor(rng.random(p.size) * span).astype(np.int64)
    t = rng.exponential(1.0 / (GOAL_MET_RATE + GOAL_ABANDON_RATE), p.size)
    met = rng.random(p.size) < GOAL_MET_RATE / (GOAL_MET_RATE + GOAL_ABANDON_RATE)
    end_day = set_day + np.maximum(np.ceil(t), 1).astype(np.int64)
    c = eng["c"][p]
    done = end_day <= c
    revised = ~done & (rng.random(p.size) < P_REVISED)
    revised_day = set_day + np.floor(rng.random(p.size) * (c - set_day + 1)).astype(np.int64)
    status = np.where(done, np.where(met, 1, 3), np.where(revised, 2, 0))  # contract GOAL_STATUSES order
    status_day = np.where(done, end_day, np.where(revised, revised_day, set_day))
    target = set_day + rng.choice(np.array([30, 60, 90, 180]), size=p.size)
    return {
        "person": p,
        "mentor": mentor_on(matches, p, set_day),
        "domain": rng.choice(len(GOAL_DOMAINS), size=p.size, p=GOAL_DOMAIN_P),
        "set": set_day,
        "target": target,
        "has_target": rng.random(p.size) < 0.75,
        "status": status,
        "status_day": status_day,
    }


def _referrals(rng: np.random.Generator, people: dict, eng: dict, matches: dict) -> dict:
    person, week = _matched_weeks(people, eng, matches)
    r = np.flatnonzero(rng.random(person.size) < REFERRALS_PER_ENGAGED_WEEK)
    p = person[r]
    day = 7 * week[r] + rng.integers(1, 7, r.size)
    keep = day <= eng["f"][p]
    p, day = p[keep], day[keep]
    kind = rng.choice(len(RESOURCE_TYPES), size=p.size, p=RESOURCE_P)
    treatment = kind == RESOURCE_TYPES.index("treatment")
    ever_p = np.where(treatment, CONNECT["treatment"][0], CONNECT["other"][0])
    mean = np.where(treatment, CONNECT["treatment"][1], CONNECT["other"][1])
    ever = rng.random(p.size) < ever_p
    conn = day + 1 + np.floor(rng.exponential(1.0, p.size) * mean).astype(np.int64)
    seen = ever & (conn <= eng["c"][p])
    no = rng.random(p.size) < 0.6
    outcome = np.where(seen, 0, np.where(ever, 2, np.where(no, 1, 3)))  # contract REFERRAL_OUTCOMES order
    return {
        "person": p,
        "day": day,
        "mentor": np.where(rng.random(p.size) < 0.9, mentor_on(matches, p, day), -1),
        "kind": kind,
        "outcome": outcome,
        "connected": conn,
    }


def _graduates(rng: np.random.Generator, people: dict, eng: dict) -> dict:
    done = eng["outcome"] == OUT_COMPLETED
    becomes = done & (rng.random(done.size) < P_GRADUATE)
    delay = rng.integers(GRADUATE_DELAY[0], GRADUATE_DELAY[1] + 1, done.size)
    started = people["enrolled"] + eng["f"] + delay
    who = np.flatnonzero(becomes & (started <= AS_OF_DAY))
    certified = started[who] + rng.integers(30, 181, who.size)
    return {
        "person": who,
        "started": started[who],
        "certified": certified,
        "is_certified": (rng.random(who.size) < 0.5) & (certified <= AS_OF_DAY),
    }


def graduate_share_within(days: int) -> float:
    """True share of completers who start mentoring within `days` of completion."""
    lo, hi = GRADUATE_DELAY
    return P_GRADUATE * min(max(days - lo + 1, 0), hi - lo + 1) / (hi - lo + 1)


def treatment_connected_within(days: int) -> float:
    """True probability that a treatment referral connects within `days` of being made."""
    ever, mean = CONNECT["treatment"]
    return ever * (1 - math.exp(-days / mean))  # 1 + floor(E) <= days  <=>  E < days


def goal_met_by(days: int) -> float:
    """True cumulative incidence of a goal met by `days` after set_on, abandonment competing."""
    total = GOAL_MET_RATE + GOAL_ABANDON_RATE
    return GOAL_MET_RATE / total * (1 - math.exp(-total * days))


def _match_spans(people: dict, eng: dict, matches: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(participant, mentor, first day, last day) of every match, absolute days, ended as matches.csv says
    (next match, exit, 45 days after disengagement) or open to as_of."""
    exit_day, _ = exits_arrays(eng)
    days, mentor = matches["days"], matches["mentor"]
    parts = []
    for k in range(3):
        who = np.flatnonzero(mentor[:, k] >= 0)
        nxt = mentor[who, k + 1] >= 0 if k < 2 else np.zeros(who.size, bool)
        left = eng["d"][who] + 45
        gone = (eng["outcome"][who] == OUT_DISENGAGED) & (left <= eng["c"][who]) & (left >= days[who, k])
        end = np.where(
            nxt,
            days[who, min(k + 1, 2)],
            np.where(exit_day[who] >= 0, exit_day[who], np.where(gone, left, eng["c"][who])),
        )
        base = people["enrolled"][who]
        parts.append((who, mentor[who, k], base + days[who, k], base + np.maximum(end, days[who, k])))
    return tuple(np.concatenate(x) for x in zip(*parts, strict=True))  # type: ignore[return-value]


def _activity(
    rng: np.random.Generator, people: dict, mentors: dict, eng: dict, matches: dict, graduates: dict
) -> tuple[dict, dict]:
    """One row per mentor (graduates included) per month from their start (or the window's) to as_of, with
    supervision, training and whether a match was open; and the incidents of the active months."""
    n_old = mentors["mid"].size
    started = np.concatenate([mentors["started"], graduates["started"]])
    m_first = np.maximum(_month(started), _month(np.array([AS_OF_DAY - ENROLL_DAYS]))[0])
    m_last = _month(np.array([AS_OF_DAY]))[0]
    n = m_last - m_first + 1
    mentor = np.repeat(np.arange(started.size), n)
    month = np.arange(mentor.size) - np.repeat(np.cumsum(n) - n, n) + m_first[mentor]

    p, mm, lo, hi = _match_spans(people, eng, matches)
    m_lo, m_hi = _month(lo), _month(hi)
    span = m_hi - m_lo + 1
    sp = np.repeat(np.arange(p.size), span)
    s_month = np.arange(sp.size) - np.repeat(np.cumsum(span) - span, span) + m_lo[sp]
    n_months = int(m_last) + 1
    open_key = np.unique(mm[sp] * n_months + s_month)
    active = np.isin(mentor * n_months + month, open_key)

    propensity = rng.beta(3.0, 1.2, started.size)
    supervised = rng.random(mentor.size) < propensity[mentor]
    hours = np.where(
        supervised,
        1 + 0.5 * np.minimum(rng.poisson(1.0, mentor.size), 10),
        np.where(rng.random(mentor.size) < 0.25, 0.5, 0.0),
    )
    training = np.where(rng.random(mentor.size) < 0.15, rng.choice(np.array([2.0, 4.0, 8.0]), mentor.size), 0.0)
    rate = INCIDENT_RATE / 100 * np.where(supervised, 1.0, INCIDENT_RR)
    count = np.where(active, rng.poisson(rate), 0)
    activity = {"mentor": mentor, "month": month, "supervision": hours, "training": training, "active": active}

    r = np.repeat(np.arange(mentor.size), count)
    first_day = np.maximum(_month_start(month[r]), started[mentor[r]])
    last_day = np.minimum(_month_start(month[r] + 1) - 1, AS_OF_DAY)
    day = first_day + np.floor(rng.random(r.size) * (last_day - first_day + 1)).astype(np.int64)
    # a mentee of that mentor whose match was open that month, when the incident involved one (60 %)
    key = mm[sp] * n_months + s_month
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    want = mentor[r] * n_months + month[r]
    start = np.searchsorted(sorted_key, want, "left")
    stop = np.searchsorted(sorted_key, want, "right")
    pick = start + np.floor(rng.random(r.size) * np.maximum(stop - start, 1)).astype(np.int64)
    mentee = p[sp[order][np.minimum(pick, sorted_key.size - 1)]] if sorted_key.size else np.zeros(r.size, np.int64)
    involved = (rng.random(r.size) < 0.6) & (stop > start) & (day >= people["enrolled"][mentee])
    incidents = {
        "mentor": mentor[r],
        "person": np.where(involved, mentee, -1),
        "day": day,
        "kind": rng.choice(len(INCIDENT_KINDS), size=r.size, p=KIND_P),
        "severity": rng.choice(len(SEVERITIES), size=r.size, p=SEVERITY_P),
    }
    activity["n_old"] = n_old
    return activity, incidents


def graduate_mentors_table(people: dict, graduates: dict, first_number: int) -> pa.Table:
    """Mentor rows for completers who became mentors, with former_participant_id set."""
    who = graduates["person"]
    recovery = np.where(people["has_recovery_start"][who], people["recovery_start"][who], people["enrolled"][who])
    return pa.table(
        {
            "mentor_id": pa.array([f"MG{first_number + i}" for i in range(who.size)], pa.string()),
            "site": labels(SITES, people["site"][who]),
            "started_on": dates(graduates["started"]),
            "recovery_start_on": dates(recovery),
            "certified_on": dates(graduates["certified"], ~graduates["is_certified"]),
            "gender": labels(GENDERS, people["gender"][who]),
            "primary_substance": labels(SUBSTANCES, people["substance"][who]),
            "former_participant_id": pa.array(people["pid"][who].tolist(), pa.string()),
        }
    )


def practice_tables(people: dict, mentor_ids: np.ndarray, practice: dict) -> dict[str, pa.Table]:
    """The five practice files as tables; `mentor_ids` lists the program's mentors, then the graduates."""
    pid = people["pid"]
    base = people["enrolled"]
    ci = practice["check_ins"]
    o = np.lexsort((ci["mode"], ci["day"], ci["person"]))
    check_ins = pa.table(
        {
            "participant_id": ids(pid, ci["person"][o]),
            "mentor_id": ids(mentor_ids, ci["mentor"][o]),
            "checked_in_on": dates(base[ci["person"][o]] + ci["day"][o]),
            "mode": labels(CHECK_IN_MODES, ci["mode"][o]),
            "reached": pa.array(ci["reached"][o], pa.bool_()),
        }
    )
    g = practice["goals"]
    o = np.lexsort((g["set"], g["person"]))
    p = g["person"][o]
    goals = pa.table(
        {
            "goal_id": pa.array([f"G{i + 1:07d}" for i in range(p.size)], pa.string()),
            "participant_id": ids(pid, p),
            "mentor_id": ids(mentor_ids, g["mentor"][o]),
            "domain": labels(GOAL_DOMAINS, g["domain"][o]),
            "set_on": dates(base[p] + g["set"][o]),
            "target_on": dates(base[p] + g["target"][o], ~g["has_target"][o]),
            "status": labels(GOAL_STATUSES, g["status"][o]),
            "status_on": dates(base[p] + g["status_day"][o]),
        }
    )
    r = practice["referrals"]
    o = np.lexsort((r["day"], r["person"]))
    p = r["person"][o]
    referrals = pa.table(
        {
            "referral_id": pa.array([f"R{i + 1:07d}" for i in range(p.size)], pa.string()),
            "participant_id": ids(pid, p),
            "mentor_id": ids(mentor_ids, r["mentor"][o]),
            "made_on": dates(base[p] + r["day"][o]),
            "resource_type": labels(RESOURCE_TYPES, r["kind"][o]),
            "outcome": labels(REFERRAL_OUTCOMES, r["outcome"][o]),
            "connected_on": dates(base[p] + r["connected"][o], r["outcome"][o] != 0),
        }
    )
    a = practice["activity"]
    activity = pa.table(
        {
            "mentor_id": ids(mentor_ids, a["mentor"]),
            "month": dates(_month_start(a["month"])),
            "supervision_hours": pa.array(a["supervision"], pa.float64()),
            "training_hours": pa.array(a["training"], pa.float64()),
            "active": pa.array(a["active"], pa.bool_()),
        }
    )
    i = practice["incidents"]
    o = np.lexsort((i["mentor"], i["day"]))
    incidents = pa.table(
        {
            "incident_id": pa.array([f"I{k + 1:07d}" for k in range(o.size)], pa.string()),
            "mentor_id": ids(mentor_ids, i["mentor"][o]),
            "participant_id": ids(pid, i["person"][o]),
            "occurred_on": dates(i["day"][o]),
            "kind": labels(INCIDENT_KINDS, i["kind"][o]),
            "severity": labels(SEVERITIES, i["severity"][o]),
        }
    )
    return {
        "goals": goals,
        "check_ins": check_ins,
        "referrals": referrals,
        "mentor_activity": activity,
        "incidents": incidents,
    }


def practice_effects() -> list[dict]:
    """truth.json → practice_effects: each true value, its scale and how it is measured on the core tables."""
    return [
        {
            "name": "relapse_check_ins_reached_lag1",
            "value": HR_CHECK_IN,
            "scale": "hazard ratio per check-in reached in the previous week",
            "measure": "time-varying Cox on marts.dose_weekly rows of matched participants (as model B) with "
            "n_reached_lag1 = check_ins with reached = true in the participant's previous week "
            "(floor((checked_in_on - enrolled_on) / 7) = week - 1), beside n_attended_lag1 and the mentor features",
        },
        {
            "name": "treatment_referral_connected_within_30_days",
            "value": round(treatment_connected_within(30), 6),
            "scale": "probability",
            "measure": "referrals with resource_type = treatment made at least 30 days before as_of: share with "
            "connected_on - made_on <= 30",
        },
        {
            "name": "goal_met_by_180_days",
            "value": round(goal_met_by(180), 6),
            "scale": "cumulative incidence (abandoned competes; open and revised censor at as_of)",
            "measure": "Aalen-Johansen on goals: time status_on - set_on for met / abandoned, else as_of - set_on",
        },
        {
            "name": "incidents_per_100_supervised_mentor_months",
            "value": INCIDENT_RATE,
            "scale": "rate per 100 active mentor-months with supervision_hours >= 1",
            "measure": "incidents in (mentor, month) rows of mentor_activity with active and supervision_hours >= 1, "
            "per 100 such rows",
        },
        {
            "name": "incident_rate_ratio_unsupervised",
            "value": INCIDENT_RR,
            "scale": "rate ratio, active months with supervision_hours < 1 vs >= 1",
            "measure": "the same rate in active months with supervision_hours < 1, divided by the supervised rate",
        },
        {
            "name": "completers_mentoring_within_365_days",
            "value": round(graduate_share_within(365), 6),
            "scale": "probability",
            "measure": "participants with a completed exit at least 365 days before as_of: share with a mentors row "
            "whose former_participant_pid is theirs and started_on - exit_on <= 365",
        },
    ]
