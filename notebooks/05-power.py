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
# # 05 · Power: how large must a proposed evaluation be?
#
# **Warehouse tier — not for publication.** The event rate below is estimated from row-level data; the
# sample sizes themselves describe no one, but check the inputs before quoting them.
#
# For a two-arm comparison of time to relapse (or disengagement) analysed with a log-rank test or Cox
# model, Schoenfeld's formula gives the number of **events** needed to detect a hazard ratio; dividing by
# the probability that a participant has the event during follow-up gives the number of **people**.
# The event probability comes from this program's own Kaplan–Meier curve.
#
# To run it on a real warehouse, change `DB` below (or set `PEER_OUTCOMES_DB`).

# %%
import os
from pathlib import Path

import pandas as pd
from IPython.display import display

from peer_outcomes.analysis import queries
from peer_outcomes.analysis.km import fit_km
from peer_outcomes.analysis.power import events_needed, sample_size
from peer_outcomes.analysis.queries import Filters

DB = Path(os.environ.get("PEER_OUTCOMES_DB", "../data/warehouse.duckdb"))  # the one line to change
FOLLOW_UP_DAYS = 180  # planned follow-up of the proposed evaluation

# %%
df = queries.outcomes(DB, Filters())
df["is_relapse"] = df["is_relapse"].astype(int)
at = fit_km(df, "relapse_days", "is_relapse").at([FOLLOW_UP_DAYS]).iloc[0]
event_probability = 1 - at["survival"]
print(f"Probability of relapse within {FOLLOW_UP_DAYS} days: {event_probability:.2f} "
      f"(95% CI {1 - at['upper_95']:.2f}–{1 - at['lower_95']:.2f})")

# %% [markdown]
# ## Events and people needed, 80% and 90% power, two-sided alpha 0.05, 1:1 allocation

# %%
rows = []
for hr in [0.6, 0.7, 0.75, 0.8, 0.85]:
    for power in [0.8, 0.9]:
        rows.append({
            "hazard_ratio": hr,
            "power": power,
            "events": events_needed(hr, power=power),
            "participants": sample_size(hr, event_probability, power=power),
        })
display(pd.DataFrame(rows))

# %% [markdown]
# ## Sensitivity to the event rate
# The event probability is itself an estimate; the sample size at its 95% limits shows the range.

# %%
for p in [1 - at["upper_95"], event_probability, 1 - at["lower_95"]]:
    print(f"event probability {p:.2f}: {sample_size(0.75, p):,} participants for HR 0.75 at 80% power")
