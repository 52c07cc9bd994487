"""Synthetic activity for `pipelines.synth`: engagement spells, attendance, sessions, substance use, milestones.

The generating model (docs/synthetic.md) is built so that the project's own marts recover its true effects:

- Disengagement day D ~ ceil(Exp(rate = LAMBDA_DROPOUT · HR_DROPOUT[main_format])), moved off multiples of 7.
  The participant attends at least one session every week up to D and none after, and the session on day D
  is the last one attended, so marts.retention dates disengagement at exactly D (max gap while engaged: 12 days).
- Sessions fall on days 7w+1 … 7w+6 since enrollment, never on a multiple of 7, so every week convention
  (floor(d/7) or (7w, 7w+7]) puts a session in the same week w as marts.dose_weekly does.
- First relapse: daily hazard LAMBDA_RELAPSE · exp(β·x + log(HR_DOSE) · a[w-1]) on days (7w, 7w+7], where x are
  the first match's mentor features and a[w-1] the sessions attended in the previous week (0 in week 0).
"""

from __future__ import annotations

import numpy as np

from peer_outcomes.pipelines.synth_people import AS_OF_DAY, SUBSTANCES, weekday

FORMATS = ("one_on_one", "group", "online", "workshop")
ONE, GROUP, ONLINE, WORKSHOP = range(4)
STATUSES = ("attended", "no_show", "cancelled", "excused")

LAMBDA_DROPOUT = 0.004  # daily disengagement hazard for main format one_on_one
HR_DROPOUT = {"group": 1.5, "online": 1.25}  # vs one_on_one
LAMBDA_EXIT_OTHER = 0.0004  # moved, incarcerated, transferred, other, deceased
EXIT_OTHER = ("moved", "incarcerated", "transferred", "other", "deceased")
EXIT_OTHER_P = (0.35, 0.25, 0.25, 0.10, 0.05)
P_NEVER_ATTEND = 0.03
P_DROPOUT_EXIT_RECORDED = 0.8  # staff record a dropped_out exit (dated at the last contact) two weeks on

LAMBDA_RELAPSE = 0.004  # daily first-relapse hazard at x = 0 and no sessions the week before
HR_CERTIFIED = 0.70
HR_SAME_SUBSTANCE = 0.80
HR_SAME_GENDER = 1.00  # no effect, on purpose
HR_DOSE = 0.85  # per session attended in the previous week
RATE_REPEAT_RELAPSE = 0.004  # daily, after the first relapse
RATE_LAPSE = 0.002
P_WORKSHOP = 0.12  # weeks with a Saturday workshop, when at least two other sessions were attended

OUT_DISENGAGED, OUT_COMPLETED, OUT_EXIT, OUT_CENSORED = range(4)
BIG = np.iinfo(np.int64).max // 4


def make_engagement(rng: np.random.Generator, people: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Main format, engagement level and decline, and the spell's end: disengagement D, completion K,
    other exit E or as_of C (all days since enrollment), whichever comes first."""
    n = people["site"].size
    usual = people["track"] == 1
    main = np.where(
        usual,
        rng.choice([GROUP, ONLINE], size=n, p=(0.7, 0.3)),
        rng.choice([ONE, GROUP, ONLINE], size=n, p=(0.45, 0.35, 0.20)),
    )
    others = np.array([[GROUP, ONLINE], [ONE, ONLINE], [ONE, GROUP]])[main]  # peer track: the two others
    others = np.where(usual[:, None], np.where(main == GROUP, ONLINE, GROUP)[:, None], others)
    hr = np.ones(n)
    hr[main == GROUP] = HR_DROPOUT["group"]
    hr[main == ONLINE] = HR_DROPOUT["online"]
    d = np.ceil(rng.exponential(1.0, n) / (LAMBDA_DROPOUT * hr)).astype(np.int64)
    d = np.maximum(d - (d % 7 == 0), 1)  # day 7w -> 7w-1: a sessions-free weekday boundary
    never = rng.random(n) < P_NEVER_ATTEND
    d[never] = 0
    k = np.where(usual, rng.integers(120, 241, n), rng.integers(182, 366, n))
    e = np.ceil(rng.exponential(1.0 / LAMBDA_EXIT_OTHER, n)).astype(np.int64)
    c = AS_OF_DAY - people["enrolled"]
    ends = np.stack([d, k, e, c], axis=1)
    outcome = np.argmin(ends, axis=1)  # ties resolve in the order D, K, E, C
    f = ends[np.arange(n), outcome]
    return {
        "main": main,
        "others": others,
        "n_others": np.where(usual, 1, 2),
        "mu": rng.gamma(2.0, 1.0, n),  # extra sessions per week at the start, differs by person
        "tau": rng.uniform(8.0, 40.0, n),  # weeks over which engagement declines
        "never": never,
        "d": d,
        "c": c,
        "f": f,
        "outcome": outcome,
        "exit_other": rng.choice(len(EXIT_OTHER), size=n, p=EXIT_OTHER_P),
        "dropout_recorded": rng.random(n) < P_DROPOUT_EXIT_RECORDED,
    }


def make_attendance(
    rng: np.random.Generator, people: dict[str, np.ndarray], eng: dict[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Expected sessions per participant-week: rows (person, day, format, status) and the attended count
    per (person, week) as (person, week, n_attended) for the dose model."""
    n = eng["f"].size
    f, c = eng["f"], eng["c"]
    is_d = eng["outcome"] == OUT_DISENGAGED
    n_weeks = np.where(f > 0, f // 7 + 1, 1)
    p = np.repeat(np.arange(n), n_weeks)
    week = np.arange(p.size) - np.repeat(np.cumsum(n_weeks) - n_weeks, n_weeks)
    decay = np.exp(-week / eng["tau"][p])
    a = np.where(eng["never"][p], 0, np.minimum(1 + rng.poisson(eng["mu"][p] * decay), 4))
    u = np.minimum(rng.poisson(0.3 + 0.3 * (1 - decay)), 6 - a)
    u = np.where(eng["never"][p], np.maximum(u, 1), u)
    perm = np.argsort(rng.random((p.size, 6)), axis=1) + 1  # distinct weekday offsets 1..6 in the week
    dweek = is_d[p] & (eng["d"][p] >= 1) & (week == eng["d"][p] // 7)
    rows = np.flatnonzero(dweek)  # the last attended session sits exactly on day D (slot 0)
    pos = np.argmax(perm[rows] == (eng["d"][p[rows]] % 7)[:, None], axis=1)
    perm[rows, pos] = perm[rows, 0]
    perm[rows, 0] = eng["d"][p[rows]] % 7
    day = 7 * week[:, None] + perm
    j = np.arange(6)[None, :]
    fp, cp = f[p][:, None], c[p][:, None]
    att_slot = j < a[:, None]
    non_slot = (j >= a[:, None]) & (j < (a + u)[:, None])
    after_d = (is_d[p] & (week == np.maximum(eng["d"][p] - 1, 0) // 7))[:, None] & (day > fp) & (day <= cp)
    keep_att = att_slot & (day <= fp)
    att_missed = att_slot & after_d  # expected after the last visit: recorded as no-shows
    keep_non = non_slot & ((day <= fp) | after_d)
    s = keep_att.sum(axis=1)
    sat_day = 7 * week + (5 - weekday(people["enrolled"][p])) % 7  # Saturday: offsets 1..5, never 0
    wk = (rng.random(p.size) < P_WORKSHOP) & (s >= 2) & (sat_day <= f[p])
    n_main = (s + wk) // 2 + 1  # the main format is a strict majority of every week's attended sessions
    rank = np.cumsum(keep_att, axis=1) - 1
    pick = np.floor(rng.random((p.size, 6)) * eng["n_others"][p][:, None]).astype(np.int64)
    other_fmt = np.take_along_axis(eng["others"][p], np.minimum(pick, 1), axis=1)
    fmt = np.where(rank < n_main[:, None], eng["main"][p][:, None], other_fmt)
    fmt_non = np.where(rng.random((p.size, 6)) < 0.6, eng["main"][p][:, None], other_fmt)
    status_non = rng.choice(3, size=(p.size, 6), p=(0.6, 0.25, 0.15)) + 1
    status_non = np.where(eng["never"][p][:, None], 1, status_non)

    r1, c1 = np.nonzero(keep_att)
    r2, c2 = np.nonzero(att_missed | keep_non)
    r3 = np.flatnonzero(wk)
    rows_p = np.concatenate([p[r1], p[r2], p[r3]])
    rows = {
        "person": rows_p,
        "day": np.concatenate([day[r1, c1], day[r2, c2], sat_day[r3]]),
        "format": np.concatenate([fmt[r1, c1], fmt_non[r2, c2], np.full(r3.size, WORKSHOP)]),
        "status": np.concatenate(
            [
                np.zeros(r1.size, np.int64),
                np.where(att_missed[r2, c2], 1, status_non[r2, c2]),
                np.zeros(r3.size, np.int64),
            ]
        ),
    }
    return rows, p, np.stack([week, s + wk], axis=1)


def make_substance_use(
    rng: np.random.Generator,
    people: dict[str, np.ndarray],
    eng: dict[str, np.ndarray],
    week_dose: tuple[np.ndarray, np.ndarray],
    lin: np.ndarray,
    check_ins: tuple[np.ndarray, np.ndarray] | None = None,
    hr_check_in: float = 1.0,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Lapses and relapses (days since enrollment). Returns the rows and each first-relapse day (BIG if none).

    First relapse: piecewise-constant daily hazard per week (see module docstring), up to as_of. Repeat
    relapses and lapses: Poisson processes. Events are recorded up to an exit, else up to as_of.
    `check_ins` (person, [week, reached]) adds log(hr_check_in) per check-in reached in the previous week."""
    n = lin.size
    c = eng["c"]
    n_w = int(c.max()) // 7 + 2
    person, wd = week_dose
    first = np.full(n, BIG, dtype=np.int64)
    e_draw = rng.exponential(1.0, n)
    chunk = 20_000
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        dose = np.zeros((hi - lo, n_w + 1))
        sel = (person >= lo) & (person < hi)
        dose[person[sel] - lo, wd[sel, 0] + 1] = wd[sel, 1]  # column w+1 holds week w: the lag for week w+1
        log_rate = lin[lo:hi, None] + np.log(HR_DOSE) * dose[:, :n_w]
        if check_ins is not None:
            reached = np.zeros((hi - lo, n_w + 1))
            cp, cw = check_ins
            sel = (cp >= lo) & (cp < hi) & (cw[:, 0] + 1 <= n_w)
            reached[cp[sel] - lo, cw[sel, 0] + 1] = cw[sel, 1]  # column w+1: the lag for week w+1
            log_rate = log_rate + np.log(hr_check_in) * reached[:, :n_w]
        rate = LAMBDA_RELAPSE * np.exp(log_rate)
        cum = np.cumsum(7.0 * rate, axis=1)
        e = e_draw[lo:hi]
        hit = cum >= e[:, None]
        w = np.argmax(hit, axis=1)
        ok = hit.any(axis=1)
        before = np.where(w > 0, cum[np.arange(hi - lo), np.maximum(w - 1, 0)], 0.0)
        within = np.ceil((e - before) / rate[np.arange(hi - lo), w]).astype(np.int64)
        t = 7 * w + np.clip(within, 1, 7)
        first[lo:hi] = np.where(ok & (t <= c[lo:hi]), t, BIG)

    has_exit = eng["outcome"] == OUT_COMPLETED
    has_exit |= eng["outcome"] == OUT_EXIT
    record_end = np.where(has_exit, eng["f"], c)
    has_first = first <= record_end
    start = np.where(has_first, first, record_end)
    n_rep = rng.poisson(RATE_REPEAT_RELAPSE * np.maximum(record_end - start, 0))
    n_lapse = rng.poisson(RATE_LAPSE * np.maximum(record_end, 0))
    rep_p = np.repeat(np.arange(n), n_rep)
    rep_d = start[rep_p] + 1 + np.floor(rng.random(rep_p.size) * (record_end - start)[rep_p]).astype(np.int64)
    lap_p = np.repeat(np.arange(n), n_lapse)
    lap_d = 1 + np.floor(rng.random(lap_p.size) * record_end[lap_p]).astype(np.int64)
    fp = np.flatnonzero(has_first)
    person = np.concatenate([fp, rep_p, lap_p])
    day = np.concatenate([first[fp], rep_d, lap_d])
    kind = np.concatenate([np.ones(fp.size + rep_p.size, np.int64), np.zeros(lap_p.size, np.int64)])
    key = np.unique(np.stack([person, day, kind], axis=1), axis=0)  # one row per (person, day, kind)
    person, day, kind = key[:, 0], key[:, 1], key[:, 2]
    poly = SUBSTANCES.index("polysubstance")
    substance = np.where(rng.random(person.size) < 0.8, people["substance"][person], poly)
    source = rng.choice(4, size=person.size, p=(0.5, 0.35, 0.1, 0.05))
    after_d = (eng["outcome"][person] == OUT_DISENGAGED) & (day > eng["d"][person])
    source = np.where(after_d, 2, source)  # learnt from collateral once out of contact
    rows = {"person": person, "day": day, "kind": kind, "substance": substance, "source": source}
    return rows, first


MILESTONES = (30, 60, 90, 180, 365, 730)


def make_milestones(people: dict[str, np.ndarray], eng: dict[str, np.ndarray], first: np.ndarray) -> dict:
    """Sobriety milestones (absolute days) reached before the first relapse and by the end of contact
    (exit, disengagement or as_of); the origin is recovery_start_on, else enrollment."""
    origin = np.where(people["has_recovery_start"], people["recovery_start"], people["enrolled"])
    contact_end = people["enrolled"] + eng["f"]
    sober_end = np.where(first < BIG, people["enrolled"] + first - 1, BIG)
    person, days, achieved = [], [], []
    for m in MILESTONES:
        on = origin + m
        ok = np.flatnonzero((on <= np.minimum(contact_end, sober_end)) & (on <= AS_OF_DAY))
        person.append(ok)
        days.append(np.full(ok.size, m))
        achieved.append(on[ok])
    person_a = np.concatenate(person)
    order = np.lexsort((np.concatenate(days), person_a))
    return {
        "person": person_a[order],
        "milestone_days": np.concatenate(days)[order],
        "achieved": np.concatenate(achieved)[order],
    }
