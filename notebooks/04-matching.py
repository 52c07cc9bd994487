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
# # 04 · Matching: do mentor–mentee features go with better outcomes?
#
# **Warehouse tier — not for publication.** Row-level, pseudonymized data; nothing here is suppressed.
# Published numbers come from the dashboard and the evidence pack only (docs/privacy.md).
#
# Match features (`marts.match_features`, joined into `marts.participant_outcomes`): mentor certified at
# match time, the mentor's years in recovery, same gender, same primary substance, days from enrollment to
# the first match, and the number of rematches. These are associations in observational data, not effects:
# matching is not random.
#
# To run it on a real warehouse, change `DB` below (or set `PEER_OUTCOMES_DB`).

# %%
import os
from pathlib import Path

from IPython.display import display

from peer_outcomes.analysis import queries
from peer_outcomes.analysis.cox import fit_cox
from peer_outcomes.analysis.km import fit_km
from peer_outcomes.analysis.logrank import logrank_test
from peer_outcomes.analysis.queries import Filters

DB = Path(os.environ.get("PEER_OUTCOMES_DB", "../data/warehouse.duckdb"))  # the one line to change

# %%
df = queries.outcomes(DB, Filters())
matched = df[df["is_matched"].fillna(False).astype(bool)].copy()
for c in ["is_disengaged", "is_relapse"]:
    matched[c] = matched[c].astype(int)
features = ["mentor_certified", "same_gender", "same_substance"]
for c in features:
    matched[c] = matched[c].astype("boolean").map({True: "yes", False: "no"}).astype("string").fillna("unknown")
print(f"{len(matched):,} of {len(df):,} participants were matched with a mentor")
display(matched[["days_to_first_match", "mentor_years_recovery", "n_rematches"]].describe())

# %% [markdown]
# ## One feature at a time: retention at 90 days and the log-rank test

# %%
for feature in features:
    km = fit_km(matched, "retention_days", "is_disengaged", group=feature)
    display(km.at([90]))
    display(logrank_test(matched, "retention_days", "is_disengaged", feature).summary)

# %% [markdown]
# ## All features together: Cox models of disengagement and relapse
# Adjusted for track and age group; days to first match and rematches enter as numbers.

# %%
covariates = [*features, "mentor_years_recovery", "days_to_first_match", "n_rematches", "age_group"]
reference = {c: matched[c].value_counts().idxmax() for c in [*features, "age_group"]}
for outcome, event in [("retention_days", "is_disengaged"), ("relapse_days", "is_relapse")]:
    fit = fit_cox(matched, outcome, event, covariates, categorical=reference)
    print(event, "—", fit.method, f"n = {fit.n}, events = {fit.events}")
    display(fit.summary)
