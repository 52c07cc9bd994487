"""A program director's words for the export's codes and the warehouse's column names, in one place.

Everything a page, a legend, a table header or the PDF report shows passes through here on its way out:
`plain` rewrites a sentence, `plain_values` the category values a chart draws, `plain_frame` an on-page
table (values and headers). The codes stay as they are in the warehouse, the CSV downloads and the
research extract, where analysts need them. A code in parentheses after its own words (e.g. "Data cutoff
(as_of)") is a gloss for analysts and is dropped.
"""

from __future__ import annotations

import re

import pandas as pd

# Code or column name -> words. Single words that read as English (group, online, alcohol) need no entry.
CODES: dict[str, str] = {
    # tracks, session formats, attendance, exits, substance use
    "peer_mentoring": "peer mentoring",
    "usual_care": "usual care",
    "one_on_one": "one-on-one",
    "no_show": "no-show",
    "dropped_out": "dropped out",
    "self_report": "self-report",
    "treatment_program": "treatment program",
    "participant_left": "participant left",
    "mentor_left": "mentor left",
    "substance_use": "substance use records",
    "check_ins": "check-ins",  # mentoring-practice files (issue 15)
    "mentor_activity": "mentor supervision and training months",
    "mutual_aid": "mutual-aid group",  # referral resources, goal domains, check-in modes
    "mat": "medication for addiction",
    "in_person": "in person",
    "n_reached_prev_week": "check-ins that reached them the week before",
    "n_attended_prev_week": "sessions attended the week before",
    # participant characteristics and match features
    "program_track": "track",
    "age_group": "age group",
    "primary_substance": "main substance",
    "housing_at_intake": "housing at intake",
    "employed_at_intake": "employed at intake",
    "referral_source": "referral source",
    "race_ethnicity": "race or ethnicity",
    "prior_treatment_episodes": "earlier treatment episodes",
    "age_at_enrollment": "age at enrollment",
    "recovery_start_on": "recovery start date",
    "main_format": "main session format",
    "cohort_quarter": "enrollment quarter",
    "cohort_month": "enrollment month",
    "mentor_certified": "certified mentor",
    "same_gender": "same gender as the mentor",
    "same_substance": "same main substance as the mentor",
    "prev_week_sessions": "sessions attended the week before",
    # dates and settings
    "settings.milestone_days": "list of milestones (in days)",
    "settings.gap_days": "disengagement gap",
    "milestone_days": "milestone days",
    "as_of": "data cutoff",
    "gap_days": "disengagement gap",
    "enrolled_on": "enrollment date",
}

# Column name -> table header, where the column's own words would not do.
HEADERS: dict[str, str] = {
    "n": "people",
    "n_enrolled": "participants enrolled",
    "n_expected": "sessions expected",
    "n_attended": "sessions attended",
    "n_no_show": "no-shows",
    "n_relapses": "relapses",
    "n_mentors": "mentors",
    "n_matched": "matched participants",
    "n_certified": "with a certified mentor",
    "n_observable": "followed long enough",
    "n_achieved": "reached it",
    "n_missing": "missing",
    "n_total": "participants",
    "n_rows": "rows",
    "hr": "hazard ratio",
    "hr_lower_95": "hazard ratio, lower 95% CI",
    "hr_upper_95": "hazard ratio, upper 95% CI",
    "p": "p-value",
    "label": "characteristic",
    "term": "characteristic",
    "time": "day",
    "survival": "estimate",
    "event_name": "what happened first",
    "milestone_days": "milestone (days)",
    "share": "share",
    "share_certified": "share with a certified mentor",
    "share_missing": "share missing",
    "sessions_last_week": "sessions the week before",
    "relapses_per_100_weeks": "relapses per 100 weeks",
    "active_mentees": "active mentees",
    "retained_90": "still engaged at 90 days",
    "relapse_free_180": "relapse-free at 180 days",
    "median_lower_95": "median, lower 95% CI",
    "median_upper_95": "median, upper 95% CI",
    "lower_95": "lower 95% CI",
    "upper_95": "upper 95% CI",
    "share_lower_95": "lower 95% CI",
    "share_upper_95": "upper 95% CI",
    "relapses_per_100_weeks_lower_95": "lower 95% CI",
    "relapses_per_100_weeks_upper_95": "upper 95% CI",
    "n_at_risk": "at risk",
    "item": "setting",
    # mentoring practice (issue 15)
    "domain": "goal domain",
    "n_goals": "goals set",
    "n_met": "met within 180 days",
    "share_met": "share met",
    "n_followed": "participants followed 30 days",
    "n_with_goal": "set a goal in their first 30 days",
    "share_with_goal": "share who set a goal",
    "resource_type": "resource",
    "n_referrals": "referrals",
    "n_connected": "connected within 30 days",
    "share_connected": "share connected",
    "check_ins_last_week": "check-ins the week before",
    "person_weeks": "participant-weeks",
    "n_weeks_reached": "weeks with a check-in that reached them",
    "share_reached": "share of weeks",
    "n_completers": "completers followed a year",
    "n_mentoring": "mentoring within a year",
    "share_mentoring": "share mentoring",
    "mentor_months": "active mentor-months",
    "n_supervised": "supervised as the policy says",
    "share_supervised": "share supervised",
    "months": "months",
    "n_incidents": "incidents",
    "incidents_per_100": "incidents per 100 mentor-months",
    "n_graduates": "former participants",
    "share_graduates": "share who were participants",
}

# Who a group is, for sentences that compare groups ("people in usual care relapsed sooner than people with a
# peer mentor"); other groups read "people whose <characteristic> is <value>" (`people`).
PEOPLE: dict[tuple[str, str], str] = {
    ("program_track", "peer_mentoring"): "people with a peer mentor",
    ("program_track", "usual_care"): "people in usual care",
    ("gender", "female"): "women",
    ("gender", "male"): "men",
    ("gender", "nonbinary"): "non-binary people",
    ("housing_at_intake", "homeless"): "people homeless at intake",
    ("housing_at_intake", "stable"): "people stably housed at intake",
    ("housing_at_intake", "unstable"): "people unstably housed at intake",
}
# Why "reached 90 days sober" and "relapse-free at 90 days" differ: said once on the Relapse page and in the PDF.
MILESTONES_START = (
    "Milestones count days sober from the day each person says their recovery began (or from enrollment when "
    "that day is not known), while the relapse-free figures count from enrollment. So “reached 90 days sober” "
    "and “relapse-free at 90 days” describe different stretches of time and need not agree."
)

AGES = {"<25": "under 25", "55+": "55 or older"}

_CODE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, CODES), key=len, reverse=True)) + r")\b(?!\.\w)")
_GLOSS = re.compile(r"\s*\(([A-Za-z.]+(?:_[A-Za-z0-9]+)+)\)")  # "Data cutoff (as_of)", "(config.GAP_DAYS)"


_NOT_ESTIMABLE = re.compile(r"“([^”]+)” is not estimable")  # analysis.estimability.not_estimable_warnings
_COMPARISON = re.compile(r"(\w+): (.+) vs (.+)")  # a model term's label: "gender: unknown vs male"


def _codes(text: str) -> str:
    return _CODE.sub(lambda m: CODES[m.group(1)], text)


def _cannot_be_estimated(m: re.Match[str]) -> str:
    """ "“gender: unknown vs male” is not estimable" -> "Unknown gender compared with male cannot be estimated"."""
    term = m.group(1)
    if c := _COMPARISON.fullmatch(term):
        characteristic, level, reference = (_codes(g) for g in c.groups())
        said = f"{level} {characteristic} compared with {reference}"
    else:
        said = header(term)
    return f"{said[:1].upper()}{said[1:]} cannot be estimated"


def plain(text: str) -> str:
    """`text` with every code in a director's words (file names such as substance_use.csv stay as they are)."""
    return _codes(_NOT_ESTIMABLE.sub(_cannot_be_estimated, _GLOSS.sub("", text)))


def plain_values(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its text values in a director's words (for legends and axis categories)."""
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(lambda v: plain(v) if isinstance(v, str) else v)
    return out


def header(column: str) -> str:
    """A table header for `column`: its entry in HEADERS or CODES, else its name with spaces."""
    if column in HEADERS:
        return HEADERS[column]
    if column in CODES:
        return CODES[column]
    if m := re.fullmatch(r"day_(\d+)", column):
        return f"at risk on day {m.group(1)}"
    if m := re.fullmatch(r"\w+_(lower|upper)_95", column):  # a share's or rate's CI bound, beside the share
        return f"{m.group(1)} 95% CI"
    return column.replace("_95", " 95% CI").replace("_", " ")


def people(characteristic: str, value: str) -> str:
    """The people in one group, in words: "people in usual care", "people aged 25 to 34", "people whose main
    substance is opioids", "people whose housing at intake is not recorded"."""
    if (characteristic, value) in PEOPLE:
        return PEOPLE[(characteristic, value)]
    if value in ("unknown", "none", "missing"):
        return f"people whose {plain(characteristic)} is not recorded"
    if characteristic == "age_group":
        return f"people aged {AGES.get(value, value.replace('-', ' to '))}"
    if characteristic == "program_track":
        return f"people in the {plain(value)} track"
    return f"people whose {plain(characteristic)} is {plain(value)}"
