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
# # 02 · Relapse: who relapses, and when?
#
# **Warehouse tier — not for publication.** Row-level, pseudonymized data; nothing here is suppressed.
# Published numbers come from the dashboard and the evidence pack only (docs/privacy.md).
#
# Relapse is the time from enrollment to the first `relapse` event (lapses are counted separately),
# censored at last contact: the earliest of exit, disengagement and the data cutoff (`marts.relapse`).
#
# To run it on a real warehouse, change `DB` below (or set `PEER_OUTCOMES_DB`).

# %%
import os
from pathlib import Path

from IPython.display import display

from peer_outcomes.analysis import queries
from peer_outcomes.analysis.cox import fit_cox
from peer_outcomes.analysis.km import fit_km
from peer_outcomes.analysis.queries import Filters
from peer_outcomes.pipelines.warehouse import query

DB = Path(os.environ.get("PEER_OUTCOMES_DB", "../data/warehouse.duckdb"))  # the one line to change

# %%
df = queries.outcomes(DB, Filters())
df["is_relapse"] = df["is_relapse"].astype(int)
km = fit_km(df, "relapse_days", "is_relapse", group="primary_substance")
display(km.summary)
display(km.at([90, 180, 365]))

# %% [markdown]
# ## Cox model
# Hazard ratios for relapse by track, age group, gender, primary substance and housing at intake;
# Efron ties as R's `coxph`. The reference level of each covariate is its commonest value.

# %%
covariates = ["program_track", "age_group", "gender", "primary_substance", "housing_at_intake"]
covariates = [c for c in covariates if df[c].nunique() > 1]
data = df.assign(**{c: df[c].astype("string").fillna("unknown") for c in covariates})
reference = {c: data[c].value_counts().idxmax() for c in covariates}
cox = fit_cox(data, "relapse_days", "is_relapse", covariates, categorical=reference)
print(cox.method, f"n = {cox.n}, events = {cox.events}")
display(cox.summary)

# %% [markdown]
# ## Proportional hazards
# The Schoenfeld-residual test (R `cox.zph`, km transform) per term and globally. A small p says the
# hazard ratio changes over follow-up: report it by period, or stratify on that covariate.

# %%
display(cox.ph_test)
print(cox.ph_note)

# %% [markdown]
# ## Cluster-robust standard errors
# Participants who share a mentor are not independent. Cluster on the first mentor (unmatched people
# are their own cluster) for sandwich standard errors, as R `coxph(..., cluster = mentor)`.

# %%
mentors = query(DB, "select participant_key, mentor_key from marts.match_features")
clustered = data.merge(mentors, on="participant_key", how="left")
clustered["cluster"] = clustered["mentor_key"].astype("string").fillna(
    "p" + clustered["participant_key"].astype(str))
robust = fit_cox(clustered, "relapse_days", "is_relapse", covariates, categorical=reference, cluster="cluster")
print(robust.method)
display(robust.summary.merge(cox.summary[["term", "se"]], on="term", suffixes=("_robust", "_model")))

# %% [markdown]
# ## Stratified by site
# Sites may differ in their baseline relapse hazard; stratifying lets each site keep its own.

# %%
stratified = fit_cox(data, "relapse_days", "is_relapse", covariates, categorical=reference, strata=["site"])
display(stratified.summary)
