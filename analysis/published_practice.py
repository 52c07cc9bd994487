"""Published mentoring practice (issue 15): goals, referral linkage, check-ins and relapse, supervision,
incidents and the mentee-to-mentor pathway, each with its denominator and 95% CI, suppressed.

Like analysis.published, every frame returned here has been through analysis.disclosure (which holds every
mask, and computes every CI from the published counts so that a bound gives back nothing the rounded counts
do not): nothing here compares a number with the threshold. Two results: `practice` for the filtered
population of participants, and `mentor_practice` for all mentors (supervision, incidents and graduates who
mentor belong to no enrollment period or track, and one program-wide selection cannot be differenced).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from peer_outcomes.analysis import disclosure, population, published, queries
from peer_outcomes.analysis import practice_queries as pq
from peer_outcomes.analysis.published import Published
from peer_outcomes.analysis.queries import Filters

Db = str | os.PathLike[str]

# Each part of the practice results: the export files that fill it, what it shows, and its frames.
PARTS: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {
    "goals": (("goals",), "whether mentees' goals are being set and met, by domain", ("goals", "goals_first")),
    "referrals": (("referrals",), "how many referrals connected within 30 days", ("referrals",)),
    "check_ins": (("check_ins",), "whether weeks after a check-in go with fewer relapses",
                  ("check_ins", "check_in_regularity")),
    "supervision": (("mentor_activity",), "whether mentors get the supervision the policy asks for", ("supervision",)),
    "incidents": (("mentor_activity", "incidents"), "incident rates per 100 mentor-months, with and without "
                  "supervision and by site", ("incidents", "incidents_by_site")),
}  # fmt: skip
OTHER_SITES = "other sites"


def missing_files(db: Db) -> dict[str, str]:
    """Per part whose export files hold no rows yet, one sentence saying which files would fill it, e.g.
    "Add goals.csv to your export to see whether mentees' goals are being set and met, by domain."."""
    loaded = pq.loaded_tables(db)
    out = {}
    for part, (tables, what, _) in PARTS.items():
        files = [f"{t}.csv" for t in tables if not loaded[t]]
        if files:
            out[part] = f"Add {' and '.join(files)} to your export to see {what}."
    return out


def has_practice(db: Db) -> bool:
    """Whether the export had any of the mentoring-practice files."""
    return any(pq.loaded_tables(db).values())


def _without_missing(db: Db, frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The frames, with those of a part whose files are missing left empty (nothing to describe)."""
    empty = {fr for part in missing_files(db) for fr in PARTS[part][2]}
    return {k: pd.DataFrame() if k in empty else v for k, v in frames.items()}


def _total(df: pd.DataFrame, key: str, label: str, people: str) -> pd.DataFrame:
    """One row adding up a table's counts; its people are at least the largest row's (people overlap rows)."""
    row = df.drop(columns=[key]).sum(numeric_only=True)
    row[people] = df[people].max() if len(df) else 0
    return pd.DataFrame([{key: label, **row.to_dict()}])


def _with_total(df: pd.DataFrame, key: str, label: str, publish) -> pd.DataFrame:  # noqa: ANN001
    """The table's rows published together (complementary across them), then its total row on its own."""
    if df.empty:
        return publish(df)
    return pd.concat([publish(df), publish(_total(df, key, label, "n_people"))], ignore_index=True)


@population.guard
def practice(db: Db, f: Filters) -> Published:
    """Goals set and met by domain, goals in the first 30 days, referral linkage, check-ins and relapse, and
    completers who became mentors, for the filtered participants."""
    n = queries.people(db, f)
    names = ["goals", "goals_first", "referrals", "check_ins", "check_in_regularity", "pathway"]
    if not disclosure.enough(n):
        return Published({k: pd.DataFrame() for k in names}, "", published._population(db, f, n), np.nan,
                         [disclosure.too_few_sentence()])  # fmt: skip
    goals = _with_total(pq.goals_by_domain(db, f), "domain", "all domains",
                        lambda d: disclosure.suppress_share_ci(d, "n_met", "n_goals", "share_met", "n_people"))  # fmt: skip
    first = pq.goal_setting(db, f).assign(n_people=lambda d: d["n_followed"])
    first = disclosure.suppress_share_ci(first, "n_with_goal", "n_followed", "share_with_goal", "n_people")
    def linked(d: pd.DataFrame) -> pd.DataFrame:
        return disclosure.suppress_share_ci(d, "n_connected", "n_referrals", "share_connected", "n_people")

    by_type, treatment = pq.referral_linkage(db, f)
    referrals = pd.concat([linked(by_type), linked(treatment)], ignore_index=True)
    weeks = pq.check_in_weeks(db, f)
    bands = weeks.set_index("check_ins_last_week").reindex(["0", "1", "2+"], fill_value=0).reset_index()
    check_ins = disclosure.suppress_event_rate_ci(bands, "n_relapses", "person_weeks", "relapses_per_100_weeks", "n_people")
    regular = disclosure.suppress_share_ci(pq.check_in_regularity(db, f), "n_weeks_reached", "person_weeks",
                                           "share_reached", "n_people")  # fmt: skip
    check_in_cox, cox_notes, cox_method = _check_in_cox(db, f, bands["n_relapses"].sum())
    path = pq.pathway(db, f).assign(n_people=lambda d: d["n_completers"])
    path = disclosure.suppress_share_ci(path, "n_mentoring", "n_completers", "share_mentoring", "n_people")
    method = (
        f"Goals: share of goals set at least {pq.GOAL_DAYS} days before the data cutoff that were met within "
        f"{pq.GOAL_DAYS} days (abandoned, revised and open goals count as not met); participants followed for "
        "their whole first 30 days who set a goal in them. Referrals: share of referrals made at "
        f"least {pq.LINK_DAYS} days before the cutoff that connected within {pq.LINK_DAYS} days, by resource and "
        "for all treatment referrals (treatment, medication for addiction, detox). Check-ins: matched "
        "participants' weeks until a first relapse (or the end of follow-up), by check-ins that reached them the "
        f"week before (relapses per 100 participant-weeks){cox_method}; regularity is the share of weeks since "
        "the first match with a check-in that reached the participant. Pathway: participants who "
        f"completed at least {pq.PATHWAY_DAYS} days before the cutoff and started as a mentor within "
        f"{pq.PATHWAY_DAYS} days. Shares have Wilson 95% CIs and rates exact Poisson 95% CIs, both computed from "
        f"the shown (rounded) counts. {disclosure.methods_sentence()}"
    )
    frames = {"goals": goals, "goals_first": first, "referrals": referrals, "check_ins": check_ins,
              "check_in_cox": check_in_cox, "check_in_regularity": regular, "pathway": path}  # fmt: skip
    return Published(_without_missing(db, frames), method, published._population(db, f, n), float(n), cox_notes)


def _check_in_cox(db: Db, f: Filters, relapses: float) -> tuple[pd.DataFrame, list[str], str]:
    """The hazard ratio of relapse per check-in that reached the participant the week before, beside the
    sessions attended the week before (analysis.practice.check_in_relapse), when at least k relapses."""
    empty = pd.DataFrame(columns=["term", "label", "hr", "hr_lower_95", "hr_upper_95", "p"])
    if not disclosure.enough(relapses):
        return empty, [disclosure.too_few_sentence("relapses among matched participants",
                                                   "so no check-in model is fitted")], ""  # fmt: skip
    from peer_outcomes.analysis.practice import check_in_relapse

    res = check_in_relapse(pq.check_in_rows(db, f))  # n_people unused here: no "fitted on" sentence
    forest = published._finite(res.summary[["term", "label", "hr", "hr_lower_95", "hr_upper_95", "p"]])
    return forest.reset_index(drop=True), list(res.warnings), f" and a time-varying Cox model ({res.how})"


def _sites(db: Db, frame: pd.DataFrame) -> pd.DataFrame:
    """Sites the sidebar offers (at least k participants) by name; every other site pooled as one row."""
    offered = published.filter_options(db)["sites"]
    site = frame["site"].where(frame["site"].isin(offered), OTHER_SITES)
    return frame.assign(site=site).groupby("site", as_index=False, sort=True).sum(numeric_only=True)


@population.guard
def mentor_practice(db: Db) -> Published:
    """Supervision coverage by quarter, incidents per 100 mentor-months (supervised or not, and by site) and
    mentors who were once participants, for all mentors."""
    hours = pq.supervision_policy(db)
    graduates = pq.graduate_mentors(db).assign(n_people=lambda d: d["n_mentors"])
    graduates = disclosure.suppress_share_ci(graduates, "n_graduates", "n_mentors", "share_graduates", "n_people")
    sup = pq.supervision(db).rename(columns={"n_mentors": "n_people"})
    supervision = _with_total(sup, "quarter", "all quarters",
                              lambda d: disclosure.suppress_share_ci(d, "n_supervised", "mentor_months",
                                                                     "share_supervised", "n_people"))  # fmt: skip

    def rate(d: pd.DataFrame) -> pd.DataFrame:
        return disclosure.suppress_event_rate_ci(d, "n_incidents", "mentor_months", "incidents_per_100", "n_people")

    by_sup = pq.incidents_by(db, "supervised").rename(columns={"n_mentors": "n_people"})
    words = {"true": f"at least {hours:g} hour of supervision", "false": f"less than {hours:g} hour"}
    by_sup["supervised"] = by_sup["supervised"].map(words)
    incidents = _with_total(by_sup.rename(columns={"supervised": "months"}), "months", "all active months", rate)
    by_site = _sites(db, pq.incidents_by(db, "site")).rename(columns={"n_mentors": "n_people"})
    incidents_by_site = rate(by_site)
    method = (
        f"Supervision: share of active mentor-months (a mentor with mentees that month) with at least {hours:g} "
        "hour of supervision, by calendar quarter. Incidents: boundary, confidentiality, safety and conduct "
        "incidents per 100 active mentor-months, counted in the month they occurred (incidents in a month without "
        "mentees or without an activity row are in no rate); sites with fewer than "
        f"{disclosure.threshold()} participants are pooled as “{OTHER_SITES}”. Graduates: mentors who were once "
        "participants of the program. All mentors and months to the data cutoff, whatever the sidebar's choice. "
        "Shares have Wilson 95% CIs and rates exact Poisson 95% CIs, both computed from the shown (rounded) "
        f"counts. {disclosure.methods_sentence()}"
    )
    n = float(graduates["n_mentors"].iloc[0]) if len(graduates) else np.nan
    pop = f"All mentors (N = {disclosure.count_text(n if pd.notna(n) else 0)}); {published.data_to(db, Filters())}"
    frames = {"supervision": supervision, "incidents": incidents, "incidents_by_site": incidents_by_site,
              "graduates": graduates}  # fmt: skip
    return Published(_without_missing(db, frames), method, pop, n)
