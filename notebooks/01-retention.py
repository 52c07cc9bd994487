# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Retention: how long do participants stay engaged?
#
# **Warehouse tier — not for publication.** This notebook reads row-level, pseudonymized data from the
# warehouse. Nothing it prints is suppressed, so none of it may leave the program as it stands: published
# numbers come from the dashboard and the evidence pack (`peer-outcomes evidence`), which apply the
# small-cell rules (docs/privacy.md).
#
# Retention is the time from enrollment to disengagement (an exit as `dropped_out`, or no attended
# session for `gap_days`), censored at other exits and at the data cutoff; completion is a competing
# event. The definitions live in the SQL marts (`marts.retention`, `marts.competing`), not here.
#
# To run it on a real warehouse, change `DB` below (or set `PEER_OUTCOMES_DB`).

# %%
import os
from pathlib import Path

import plotly.express as px
from IPython.display import display

from peer_outcomes.analysis import queries
from peer_outcomes.analysis.competing import cumulative_incidence
from peer_outcomes.analysis.km import fit_km
from peer_outcomes.analysis.logrank import logrank_test
from peer_outcomes.analysis.queries import Filters
from peer_outcomes.analysis.rmst import rmst

DB = Path(os.environ.get("PEER_OUTCOMES_DB", "../data/warehouse.duckdb"))  # the one line to change

# %% [markdown]
# ## The data
# One row per participant from `marts.participant_outcomes`, and the data cutoff the marts used.

# %%
settings = queries.settings(DB)
df = queries.outcomes(DB, Filters())
df["is_disengaged"] = df["is_disengaged"].astype(int)
print(f"{len(df):,} participants; data to {settings['as_of']}; disengaged after {settings['gap_days']} days")
display(df["retention_outcome"].value_counts())

# %% [markdown]
# ## Kaplan–Meier retention, overall and by site

# %%
overall = fit_km(df, "retention_days", "is_disengaged")
print(overall.method)
display(overall.summary)
display(overall.at([30, 90, 180, 365]))

# %%
by_site = fit_km(df, "retention_days", "is_disengaged", group="site")
display(by_site.summary)
display(logrank_test(df, "retention_days", "is_disengaged", "site").summary)
px.line(by_site.curve, x="time", y="survival", color="group", line_shape="hv",
        labels={"time": "days since enrollment", "survival": "still engaged"})

# %% [markdown]
# ## Enrollment cohorts
# Does retention change over time? One curve per enrollment quarter; restricted mean time engaged
# over the first 180 days (RMST) puts a number on each cohort.

# %%
by_cohort = fit_km(df, "retention_days", "is_disengaged", group="cohort_quarter")
display(by_cohort.at([90]).sort_values("group"))
display(rmst(df, "retention_days", "is_disengaged", tau=180, group="cohort_quarter").summary)

# %% [markdown]
# ## Competing risks: dropout, relapse and completion
# Kaplan–Meier treats completion as censoring; the cumulative incidence functions (Aalen–Johansen,
# exact ties) split what happens first into relapse, dropout and completion.

# %%
comp = queries.competing(DB, Filters())
cif = cumulative_incidence(comp, "time_days", "event_code", {1: "relapse", 2: "dropout", 3: "completion"}).summary
display(cif[cif["time"] <= 365].groupby("cause").tail(1))
px.line(cif, x="time", y="cif", color="cause", line_shape="hv",
        labels={"time": "days since enrollment", "cif": "cumulative incidence"})
