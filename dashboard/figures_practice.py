"""The mentoring-practice charts (issue 15), defined once for the page and the evidence pack, as in `figures`.

Every chart is a share or a rate with its 95% CI as error bars; the frames come from
`analysis.published_practice`, already suppressed. `PRACTICE` and `MENTOR` list the figures drawn from each
of its two results, in page order.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go

from peer_outcomes.dashboard import charts
from peer_outcomes.dashboard.figures import Figure


def _ci(x: str, y: str, x_label: str, y_label: str, percent: bool = True) -> Callable[[pd.DataFrame, str, str], go.Figure]:
    return lambda fr, title, pop: charts.bars_ci(fr, x, y, title, pop, x_label, y_label, percent=percent)


GOALS = Figure(
    "goals_met", "Goals met within 180 days, by domain", "goals",
    _ci("domain", "share_met", "Goal domain", "Met within 180 days (%)"),
    "Among goals set at least 180 days before the data cutoff; bars show 95% confidence intervals.",
)  # fmt: skip
REFERRALS = Figure(
    "referral_linkage", "Referrals connected within 30 days, by resource", "referrals",
    _ci("resource_type", "share_connected", "Resource", "Connected within 30 days (%)"),
    "Among referrals made at least 30 days before the data cutoff; bars show 95% confidence intervals.",
)  # fmt: skip
CHECK_INS = Figure(
    "check_ins_relapse", "Relapses per 100 participant-weeks, by check-ins the week before", "check_ins",
    _ci("check_ins_last_week", "relapses_per_100_weeks", "Check-ins that reached the participant the week before",
        "Relapses per 100 weeks", percent=False),
    "Matched participants' weeks until a first relapse; exact Poisson 95% confidence intervals.",
)  # fmt: skip
SUPERVISION = Figure(
    "supervision_coverage", "Active mentor-months that met the supervision policy", "supervision",
    _ci("quarter", "share_supervised", "Quarter", "Supervised as the policy says (%)"),
    "All active mentor-months; bars show 95% confidence intervals.",
)  # fmt: skip
INCIDENTS = Figure(
    "incident_rates", "Incidents per 100 active mentor-months, by supervision", "incidents",
    _ci("months", "incidents_per_100", "Mentor-months", "Incidents per 100 mentor-months", percent=False),
    "Incident counts under {k} are never shown; exact Poisson 95% confidence intervals.",
)  # fmt: skip
INCIDENTS_BY_SITE = Figure(
    "incident_rates_by_site", "Incidents per 100 active mentor-months, by site", "incidents_by_site",
    _ci("site", "incidents_per_100", "Site", "Incidents per 100 mentor-months", percent=False),
    "A site with fewer than {k} incidents or mentors (and the site that would reveal it) is not shown.",
)  # fmt: skip

PRACTICE = (GOALS, REFERRALS, CHECK_INS)
MENTOR = (SUPERVISION, INCIDENTS, INCIDENTS_BY_SITE)
TABLES = {"goals_first": "goals_first_30_days", "check_in_regularity": "check_in_regularity", "pathway": "pathway",
          "graduates": "graduate_mentors"}  # fmt: skip
