"""Synthetic people for `pipelines.synth`: participants, mentors and mentor-mentee matches.

Everything is drawn from one `numpy.random.Generator`, in a fixed order, so a seed gives the same program
every time. Dates are integer days since 1970-01-01 (numpy `datetime64[D]` as int) until they are written.
The generating model is documented in docs/synthetic.md.
"""

from __future__ import annotations

from datetime import date

import numpy as np

AS_OF = date(2026, 6, 30)  # fixed data cutoff: never today's date, so output depends on the seed only
AS_OF_DAY = int(np.datetime64(AS_OF, "D").astype(np.int64))
ENROLL_DAYS = 900  # enrollment runs over the ~2.5 years before as_of

SITES = ("north", "south", "east", "west", "central", "harbor")
SITE_CODES = ("NO", "SO", "EA", "WE", "CE", "HA")
SITE_WEIGHTS = (0.30, 0.25, 0.20, 0.15, 0.10)  # the five regular sites; "harbor" is the small one
PEER_SHARE = (0.75, 0.65, 0.70, 0.80, 0.60, 1.0)  # share of each site's participants on peer_mentoring
SMALL_SITE_N = 8  # at N >= 1000: few enough that suppression must hide the site
TRACKS = ("peer_mentoring", "usual_care")

GENDERS = ("male", "female", "nonbinary", "other", "unknown")
GENDER_P = (0.58, 0.38, 0.02, 0.01, 0.01)
SUBSTANCES = (
    "alcohol",
    "opioids",
    "stimulants",
    "cannabis",
    "sedatives",
    "polysubstance",
    "other",
    "unknown",
)
SUBSTANCE_P = (0.35, 0.28, 0.15, 0.08, 0.03, 0.09, 0.01, 0.01)
REFERRALS = ("self", "treatment_program", "court", "hospital", "community", "other")
REFERRAL_P = (0.25, 0.35, 0.15, 0.12, 0.10, 0.03)
HOUSING = ("stable", "unstable", "homeless", "unknown")
HOUSING_P = (0.55, 0.25, 0.15, 0.05)
RACES = ("white", "black", "hispanic", "asian", "aian", "multiple", "unknown")
RACE_P = (0.52, 0.18, 0.17, 0.04, 0.03, 0.04, 0.02)

CASELOAD = 12  # participants on the peer track per mentor (sets the number of mentors per site)
P_MATCHED = 0.90  # peer-track participants who ever get a mentor
P_SAME_SUBSTANCE_TRY = 0.45  # coordinators try to match lived experience of the same substance
P_REMATCH = 0.20
END_REASON_REMATCH = ("rematched", "mentor_left")


def weekday(day: np.ndarray) -> np.ndarray:
    """Monday = 0 … Sunday = 6 for integer days since 1970-01-01 (a Thursday)."""
    return (day + 3) % 7


def make_participants(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Participants in enrollment order: site, track, enrollment date (a weekday) and intake covariates."""
    small = SMALL_SITE_N if n >= 1000 else (max(1, round(n * 0.008)) if n >= 20 else 0)
    site = np.concatenate([rng.choice(5, size=n - small, p=SITE_WEIGHTS), np.full(small, 5)])
    # Enrollment grows over time (density rising towards as_of), on weekdays only: intake is Mon–Fri,
    # which also keeps every enrollment off the weekday of the Saturday workshops (see synth_activity).
    u = rng.random(n) ** (1 / 1.4)
    enrolled = AS_OF_DAY - ENROLL_DAYS + np.floor(u * (ENROLL_DAYS - 1)).astype(np.int64)
    wd = weekday(enrolled)
    enrolled = enrolled - np.where(wd == 5, 1, 0) - np.where(wd == 6, 2, 0)
    order = np.lexsort((rng.random(n), enrolled))
    site, enrolled = site[order], enrolled[order]
    track = (rng.random(n) >= np.asarray(PEER_SHARE)[site]).astype(np.int8)  # 0 peer, 1 usual care
    age = np.clip(np.round(18 + rng.gamma(3.0, 6.5, n)), 18, 95).astype(np.int64)
    recovery_gap = 7 + np.round(rng.exponential(80.0, n)).astype(np.int64)
    ids = 1_000_000 + rng.choice(9_000_000, size=n, replace=False)
    return {
        "pid": np.array([f"P{i}" for i in ids.tolist()], dtype=object),
        "site": site,
        "enrolled": enrolled,
        "track": track,
        "age": age,
        "gender": rng.choice(len(GENDERS), size=n, p=GENDER_P),
        "race": rng.choice(len(RACES), size=n, p=RACE_P),
        "substance": rng.choice(len(SUBSTANCES), size=n, p=SUBSTANCE_P),
        "referral": rng.choice(len(REFERRALS), size=n, p=REFERRAL_P),
        "recovery_start": np.minimum(enrolled - recovery_gap, enrolled - 1),
        "has_recovery_start": rng.random(n) >= 0.08,
        "prior": np.minimum(rng.poisson(1.4, n), 40),
        "housing": rng.choice(len(HOUSING), size=n, p=HOUSING_P),
        "employed": rng.random(n) < 0.42,
        "employed_known": rng.random(n) >= 0.04,
    }


def make_mentors(rng: np.random.Generator, people: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Mentors per site (about one per CASELOAD peer-track participants, at least two), all started before
    the enrollment window; most certified soon after starting, some certified later, some never."""
    n_peer = np.bincount(people["site"][people["track"] == 0], minlength=len(SITES))
    counts = np.maximum(2, np.ceil(n_peer / CASELOAD).astype(np.int64))
    m = int(counts.sum())
    site = np.repeat(np.arange(len(SITES)), counts)
    window_start = AS_OF_DAY - ENROLL_DAYS
    started = window_start - rng.integers(30, 2500, m)
    kind = rng.choice(3, size=m, p=(0.65, 0.20, 0.15))  # certified early, certified later, never
    certified = np.where(
        kind == 0,
        started + rng.integers(0, 150, m),
        window_start + rng.integers(0, ENROLL_DAYS, m),
    )
    digits = 4  # M1000..M9999; more digits only when a huge program needs more than 9,000 mentors
    while 9 * 10 ** (digits - 1) < m:
        digits += 1
    ids = 10 ** (digits - 1) + rng.choice(9 * 10 ** (digits - 1), size=m, replace=False)
    return {
        "mid": np.array([f"M{i}" for i in ids.tolist()], dtype=object),
        "site": site,
        "started": started,
        "recovery_start": started - rng.integers(550, 7300, m),
        "certified": certified,
        "is_certified": kind < 2,
        "gender": rng.choice(len(GENDERS), size=m, p=(0.52, 0.44, 0.02, 0.01, 0.01)),
        "substance": rng.choice(len(SUBSTANCES), size=m, p=(0.36, 0.30, 0.15, 0.07, 0.03, 0.08, 0.01, 0.0)),
        "site_start": np.concatenate([[0], np.cumsum(counts)[:-1]]),
        "site_count": counts,
    }


def _pick_mentor(
    rng: np.random.Generator, people: dict, mentors: dict, who: np.ndarray, avoid: np.ndarray | None
) -> np.ndarray:
    """A mentor at each participant's site: same substance when tried and available, else any."""
    site = people["site"][who]
    chosen = mentors["site_start"][site] + np.floor(
        rng.random(who.size) * mentors["site_count"][site]
    ).astype(np.int64)
    if avoid is not None:  # a rematch goes to a different mentor of the same site
        same = chosen == avoid
        nxt = (
            mentors["site_start"][site]
            + (chosen - mentors["site_start"][site] + 1) % mentors["site_count"][site]
        )
        chosen = np.where(same, nxt, chosen)
        return chosen
    try_same = rng.random(who.size) < P_SAME_SUBSTANCE_TRY
    subst = people["substance"][who]
    for s in range(len(SITES)):
        for k in range(len(SUBSTANCES)):
            pool = np.flatnonzero((mentors["site"] == s) & (mentors["substance"] == k))
            sel = np.flatnonzero(try_same & (site == s) & (subst == k))
            if pool.size and sel.size:
                chosen[sel] = pool[rng.integers(0, pool.size, sel.size)]
    return chosen


def make_matches(
    rng: np.random.Generator, people: dict, mentors: dict, eligible: np.ndarray, match_limit: np.ndarray
) -> dict[str, np.ndarray]:
    """Up to three matches per participant (days since enrollment and mentor index, -1 / huge if none).

    `eligible` participants get a first match with probability P_MATCHED after a delay (mostly days, some
    weeks); a match is only made on or before `match_limit` (exit or as_of, days since enrollment)."""
    n = people["site"].size
    big = np.iinfo(np.int64).max // 4
    delay = np.round(rng.exponential(8.0, n)).astype(np.int64)
    delay += np.where(rng.random(n) < 0.15, rng.integers(15, 60, n), 0)
    matched = eligible & (rng.random(n) < P_MATCHED) & (delay <= match_limit)
    days = np.full((n, 3), big, dtype=np.int64)
    mentor = np.full((n, 3), -1, dtype=np.int64)
    reason = np.full((n, 3), -1, dtype=np.int64)  # end reason of match k when ended by match k+1
    who = np.flatnonzero(matched)
    days[who, 0] = delay[who]
    mentor[who, 0] = _pick_mentor(rng, people, mentors, who, None)
    for k in (1, 2):
        gap = 20 + np.round(rng.exponential(70.0, n)).astype(np.int64)
        p = P_REMATCH if k == 1 else 0.15
        nxt = (mentor[:, k - 1] >= 0) & (rng.random(n) < p) & (days[:, k - 1] + gap <= match_limit)
        who = np.flatnonzero(nxt)
        days[who, k] = days[who, k - 1] + gap[who]
        mentor[who, k] = _pick_mentor(rng, people, mentors, who, mentor[who, k - 1])
        reason[who, k - 1] = rng.choice(2, size=who.size, p=(0.6, 0.4))
    return {"days": days, "mentor": mentor, "reason": reason}
