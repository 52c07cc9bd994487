"""Every chart the dashboard and the evidence pack show, defined once: title, axes, the frame it draws.

A page and the evidence pack both call `Figure.draw(pub)`, so a chart cannot read one way on a page and
another in the PDF. `HIDDEN` names, per published frame, the columns the small-cell rule may blank; the
pages' tables and downloads and the pack's CSVs read it from here. The plotly work itself is in `charts`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, replace

import pandas as pd
import plotly.graph_objects as go

from peer_outcomes.analysis import disclosure
from peer_outcomes.analysis.published import Published
from peer_outcomes.dashboard import charts, words
from peer_outcomes.pipelines.config import HEADLINE_DAYS

ESTIMATES = ("survival", "lower_95", "upper_95")



def _ci(rate: str) -> tuple[str, str, str]:
    """A share or rate and its 95% CI bounds."""
    return rate, f"{rate}_lower_95", f"{rate}_upper_95"


# Columns of each published frame that the small-cell rule may leave empty (keyed by the frame's name).
HIDDEN: dict[str, tuple[str, ...]] = {
    "rates": ESTIMATES,
    "cells": (*ESTIMATES, "n_at_risk"),
    "at_risk": tuple(f"day_{t}" for t in (0, *HEADLINE_DAYS)),
    "summary": ("n", "events", "median", "median_lower_95", "median_upper_95"),
    "events": ("n",),
    "attainment": ("n_observable", "n_achieved", "share", "share_lower_95", "share_upper_95"),
    "enrolled": ("n_enrolled",),
    "sessions": ("n_expected", "n_attended", "attendance_rate"),
    "weekly": ("n_expected", "n_attended", "n_no_show", "attendance_rate", "no_show_rate"),
    "dose": ("n_relapses", "relapses_per_100_weeks", "relapses_per_100_weeks_lower_95", "relapses_per_100_weeks_upper_95"),
    "caseloads": ("n_mentors",),
    "rematches": ("n",),
    "coverage": ("n_matched", "n_certified", "share_certified"),
    "by_feature": (*_ci("retained_90"), *_ci("relapse_free_180")),
    "missing": ("n_missing", "n_total", "share_missing"),
    "batches": ("rows_read", "rows_loaded"),
    # mentoring practice (analysis.published_practice, dashboard.figures_practice)
    "goals": ("n_goals", "n_met", *_ci("share_met")),
    "goals_first": ("n_followed", "n_with_goal", *_ci("share_with_goal")),
    "referrals": ("n_referrals", "n_connected", *_ci("share_connected")),
    "check_ins": ("person_weeks", "n_relapses", *_ci("relapses_per_100_weeks")),
    "check_in_regularity": ("person_weeks", "n_weeks_reached", *_ci("share_reached")),
    "pathway": ("n_completers", "n_mentoring", *_ci("share_mentoring")),
    "supervision": ("mentor_months", "n_supervised", *_ci("share_supervised")),
    "incidents": ("mentor_months", "n_incidents", *_ci("incidents_per_100")),
    "incidents_by_site": ("mentor_months", "n_incidents", *_ci("incidents_per_100")),
    "graduates": ("n_mentors", "n_graduates", *_ci("share_graduates")),
}


def hidden(frame_name: str) -> tuple[str, ...]:
    """The columns of published frame `frame_name` that may be hidden (none for most load tables)."""
    return HIDDEN.get(frame_name, ())


ESTIMATE_HINTS = ("rate", "share", "survival", "lower_95", "upper_95", "retained", "relapse_free", "per_100", "cif",
                  "median")  # fmt: skip


def is_estimate(column: str) -> bool:
    """Rates, shares, survival estimates, medians (and their CIs): a hidden one says why in words, not "< k"."""
    return any(h in column for h in ESTIMATE_HINTS)


def shown(pub: Published, frame_name: str) -> pd.DataFrame:
    """Published frame `frame_name` as a page table and a CSV show it: every empty cell says why."""
    cols = hidden(frame_name)
    return disclosure.label(pub.frames[frame_name], cols, estimates=[c for c in cols if is_estimate(c)])


@dataclass(frozen=True)
class Figure:
    """One chart: its file name, its title, the published frame it draws and how it draws it."""

    name: str  # file stem of its downloads and of its files in the evidence pack
    title: str
    frame: str  # the key of the frame in its Published
    build: Callable[[pd.DataFrame, str, str], go.Figure]  # (frame, title, population) -> figure
    caption: str = ""  # one line under the chart in the PDF report; "{k}" is the suppression threshold

    def data(self, pub: Published) -> pd.DataFrame:
        """The published frame behind the chart."""
        return pub.frames[self.frame]

    def draw(self, pub: Published) -> go.Figure:
        """The chart of `pub`, titled with the subject and `pub`'s population line."""
        return self.build(words.plain_values(self.data(pub)), self.title, pub.population)

    @property
    def hidden(self) -> tuple[str, ...]:
        """The columns of its frame that the small-cell rule may leave empty."""
        return hidden(self.frame)

    @property
    def note(self) -> str:
        """The caption with the threshold in force filled in."""
        return self.caption.format(k=disclosure.threshold())


def _km(y_label: str) -> Callable[[pd.DataFrame, str, str], go.Figure]:
    return lambda fr, title, pop: charts.km_curve(fr, title, pop, y_label=y_label)


def _bars(x: str, y: str, x_label: str, y_label: str, **kw: object) -> Callable[[pd.DataFrame, str, str], go.Figure]:
    return lambda fr, title, pop: charts.bars(fr, x, y, title, pop, x_label, y_label, **kw)


def _feature_bars(y: str, y_label: str) -> Callable[[pd.DataFrame, str, str], go.Figure]:
    """Match-feature bars with each estimate's 95% CI, the features' words on short lines under level ticks
    (rotated, the longer ones ran under the legend and were cut in a half-width column), the legend below."""

    def build(fr: pd.DataFrame, title: str, pop: str) -> go.Figure:
        fr = fr.assign(feature=fr["feature"].map(lambda v: "<br>".join(textwrap.wrap(str(v), 16))))
        fig = charts.bars(fr, "feature", y, title, pop, "Match feature", y_label, percent=True, colour="level",
                          ci=(f"{y}_lower_95", f"{y}_upper_95"), n="n", n_label="matched people")  # fmt: skip
        fig.update_xaxes(tickangle=0, automargin=True)
        fig.update_layout(legend={"orientation": "h", "y": -0.38, "x": 0, "title": {"text": "This match feature:"}},
                          margin={"b": 90})  # fmt: skip
        return fig

    return build


def _lines(y: str, y_label: str) -> Callable[[pd.DataFrame, str, str], go.Figure]:
    return lambda fr, title, pop: charts.lines(fr, "week_start", y, "format", title, pop, "Week", y_label)


RETENTION = Figure(
    "retention_curve", "Retention: share still engaged", "curve", _km("Still engaged"),
    "Kaplan–Meier estimate with 95% confidence band; the curve stops where fewer than {k} remain at risk.",
)  # fmt: skip
RELAPSE_FREE = Figure(
    "relapse_free_curve", "Relapse-free survival", "curve", _km("Relapse-free"),
    "Kaplan–Meier estimate with 95% confidence band; the curve stops where fewer than {k} remain at risk.",
)  # fmt: skip
COHORTS = Figure(
    "retention_cohorts", "Share still engaged by enrollment month", "cells",
    lambda fr, title, pop: charts.cohort_heatmap(fr, title, pop),
)  # fmt: skip
COMPETING = Figure(
    "competing_risks", "What happens first: relapse, dropout or completion", "cif",
    lambda fr, title, pop: charts.cif_curve(fr, title, pop),
    "Cumulative incidence (Aalen–Johansen) of the first of relapse, dropout and completion.",
)  # fmt: skip
RELAPSE_COX = Figure(
    "relapse_cox", "Who relapses sooner: hazard ratios", "forest", lambda fr, title, pop: charts.forest(fr, title, pop),
    "Cox model of time to first relapse; each level against the commonest level of its characteristic.",
)  # fmt: skip
MILESTONES = Figure(
    "milestones", "Share reaching each sobriety milestone", "attainment",
    _bars("milestone_days", "share", "Milestone (days sober)", "Reached (%)", percent=True,
          ci=("share_lower_95", "share_upper_95"), n="n_observable", n_label="followed long enough"),
    "Among participants followed long enough to reach each milestone by the data cutoff; bars show 95% CIs.",
)  # fmt: skip
ENROLLED = Figure(
    "participants_served", "Participants enrolled by quarter and site", "enrolled",
    _bars("cohort_quarter", "n_enrolled", "Enrollment quarter", "Participants", colour="site"),
    "Counts below {k} (and the cells that would reveal them) are hidden.",
)  # fmt: skip
SESSIONS = Figure(
    "sessions_by_format", "Sessions attended by format", "sessions",
    _bars("format", "n_attended", "Format", "Sessions attended"),
    "Person-sessions attended over the period, with the attendance rate in the CSV.",
)  # fmt: skip
ATTENDANCE = Figure("attendance_weekly", "Weekly attendance rate by format", "weekly", _lines("attendance_rate", "Attended (%)"))
NO_SHOW = Figure("no_show_weekly", "Weekly no-show rate by format", "weekly", _lines("no_show_rate", "No-show (%)"))
DOSE = Figure(
    "dose_response", "Relapses per 100 participant-weeks", "dose",
    _bars("sessions_last_week", "relapses_per_100_weeks", "Sessions attended the week before", "Relapses per 100 weeks",
          ci=("relapses_per_100_weeks_lower_95", "relapses_per_100_weeks_upper_95"), n="person_weeks",
          n_label="participant-weeks"),
    "Relapses per 100 participant-weeks with exact 95% CIs, by sessions attended the week before.",
)  # fmt: skip
CASELOADS = Figure(
    "mentor_caseloads", "Mentors by active caseload", "caseloads",
    _bars("active_mentees", "n_mentors", "Participants with an open match", "Mentors"),
)  # fmt: skip
REMATCHES = Figure(
    "rematches", "Matched participants by number of rematches", "rematches", _bars("rematches", "n", "Rematches", "Participants")
)  # fmt: skip
MATCH_RETAINED = Figure(
    "match_features", "Still engaged at 90 days by match feature", "by_feature",
    _feature_bars("retained_90", "Still engaged (%)"),
    "Kaplan–Meier estimate at 90 days among matched participants, with its 95% CI, by feature of the first match.",
)  # fmt: skip
MATCH_RELAPSE_FREE = Figure(
    "match_features_relapse", "Relapse-free at 180 days by match feature", "by_feature",
    _feature_bars("relapse_free_180", "Relapse-free (%)"),
    "Kaplan–Meier estimate at 180 days among matched participants, with its 95% CI, by feature of the first match.",
)  # fmt: skip
QUARANTINE = Figure(
    "quarantine", "Quarantined rows by reason", "quarantine_by_reason",
    lambda fr, title, pop: charts.hbars(fr, "reason", "n_rows", title, pop, "Rows"),
)  # fmt: skip
MISSING = Figure(
    "missing_fields", "Participants missing each optional field", "missing",
    _bars("field", "share_missing", "Field", "Missing (%)", percent=True, n="n_total", n_label="participants"),
)  # fmt: skip

# The curves compared by program (the pages' "Compare by: Program"), for the evidence pack: the same charts,
# under file names and titles of their own.
RETENTION_BY_PROGRAM = replace(RETENTION, name="retention_by_program", title="Retention by program: share still engaged")
RELAPSE_FREE_BY_PROGRAM = replace(RELAPSE_FREE, name="relapse_free_by_program", title="Relapse-free survival by program")
COMPETING_BY_PROGRAM = replace(
    COMPETING, name="competing_risks_by_program", title="What happens first, by program: relapse, dropout or completion"
)
