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
# # 03 · Engagement dose: does attending more protect against relapse?
#
# **Warehouse tier — not for publication.** Row-level, pseudonymized data; nothing here is suppressed.
# Published numbers come from the dashboard and the evidence pack only (docs/privacy.md).
#
# `marts.dose_weekly` holds one counting-process row per participant-week of follow-up in the relapse
# spell, (start, stop], with the sessions attended that week by format. Dose enters the model lagged by
# one week, so that a relapse cannot cause the attendance that "explains" it.
#
# To run it on a real warehouse, change `DB` below (or set `PEER_OUTCOMES_DB`).

# %%
import os
from pathlib import Path

import plotly.express as px
from IPython.display import display

from peer_outcomes.analysis import queries
from peer_outcomes.analysis.dose import fit_time_varying_cox
from peer_outcomes.analysis.queries import Filters

DB = Path(os.environ.get("PEER_OUTCOMES_DB", "../data/warehouse.duckdb"))  # the one line to change

# %%
long = queries.dose_weekly(DB, Filters()).sort_values(["participant_key", "week"])
formats = ["n_one_on_one", "n_group", "n_online", "n_workshop"]
lagged = long.groupby("participant_key")[["n_attended", *formats]].shift(1).fillna(0)
long = long.assign(**{f"prev_{c}": lagged[c] for c in ["n_attended", *formats]})
long["is_relapse"] = long["is_relapse"].astype(int)
print(f"{len(long):,} participant-weeks, {long['participant_key'].nunique():,} participants, "
      f"{int(long['is_relapse'].sum()):,} relapses")

# %% [markdown]
# ## Time-varying Cox: total sessions last week

# %%
total = fit_time_varying_cox(long, "participant_key", "start_days", "stop_days", "is_relapse",
                             ["prev_n_attended"])
print(total.method)
display(total.summary)

# %% [markdown]
# ## Modality mix: which formats carry the association?

# %%
mix = fit_time_varying_cox(long, "participant_key", "start_days", "stop_days", "is_relapse",
                           [f"prev_{c}" for c in formats])
display(mix.summary)

# %% [markdown]
# ## How the mix of formats changes over follow-up

# %%
by_week = long[long["week"] < 52].groupby("week")[formats].sum()
share = by_week.div(by_week.sum(axis=1), axis=0).reset_index().melt(
    id_vars="week", var_name="format", value_name="share")
px.area(share, x="week", y="share", color="format", labels={"week": "weeks since enrollment"})
