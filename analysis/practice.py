"""Mentoring practice: goals, check-ins, referrals, supervision, incidents and the mentee-to-mentor pathway.

Each function takes the rows of one practice mart (docs/outcomes.md, "Mentoring practice") and returns a
`ModelResult` with a tidy `summary`; none reads the warehouse. Conventions, each checked against R or
statsmodels (tests/reference/test_practice_against_R.py):

- shares (goal setting, referral linkage, supervision coverage): Wilson score 95% intervals; incident rates:
  exact (Garwood) Poisson 95% intervals; both from `analysis.intervals`, as on the practice page. The rate
  ratio of unsupervised to supervised months: the exact conditional (binomial) method, as R
  `poisson.test(c(x1, x0), c(T1, T0))`;
- times to an event: Aalen–Johansen cumulative incidence (`analysis.competing`), with abandonment competing
  for goals and no competing event for a referral's connection or a graduate's first mentoring month;
- check-ins and relapse: Cox on counting-process rows with the previous week's reached check-ins as a
  time-varying covariate (`analysis.dose`), as R `coxph(Surv(start, stop, event) ~ ...)`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peer_outcomes.analysis.competing import COLUMNS as CIF_COLUMNS
from peer_outcomes.analysis.competing import cumulative_incidence
from peer_outcomes.analysis.cox import CoxResult
from peer_outcomes.analysis.dose import fit_time_varying_cox
from peer_outcomes.analysis.frames import complete_cases, require_columns
from peer_outcomes.analysis.intervals import binomial_p, clopper_pearson, poisson_exact, t_quantile, wilson
from peer_outcomes.analysis.results import ModelResult, excluded_rows

TREATMENT_TYPES = ("treatment", "mat", "detox")  # the resource types a "treatment referral" covers
GOAL_CAUSES = {1: "met", 2: "abandoned"}
CHECK_IN_TERMS = ["n_reached_prev_week", "n_attended_prev_week"]
WILSON = "Wilson score 95% confidence intervals, as R prop.test(correct = FALSE)"


def _groups(df: pd.DataFrame, group: str | None) -> pd.Series:
    return df[group].astype(str) if group else pd.Series("All", index=df.index)


def _shares(df: pd.DataFrame, hit: str, group: str | None, n_name: str, k_name: str) -> pd.DataFrame:
    """Per group: rows, hits, share and its Wilson interval."""
    t = df.groupby(_groups(df, group)).agg(**{n_name: (hit, "size"), k_name: (hit, "sum")})
    t.index.name = "group"
    t = t.reset_index().astype({n_name: int, k_name: int})
    t["share"] = t[k_name] / t[n_name]
    t["lower_95"], t["upper_95"] = wilson(t[k_name].to_numpy(), t[n_name].to_numpy())
    return t


def goal_attainment(goals: pd.DataFrame, group: str | None = "domain") -> ModelResult:
    """Cumulative incidence of goals met, abandonment competing, by domain (marts.goals rows).

    Open and revised goals are censored at the data cutoff. `.summary` is `analysis.competing`'s: one row
    per group, cause ("met", "abandoned") and day since the goal was set.
    """
    return _incidence(goals, "time_days", "event_code", GOAL_CAUSES, group)


def goal_setting(people: pd.DataFrame, group: str | None = None) -> ModelResult:
    """Goals set per participant in the first 30 days after enrollment (marts.goal_setting rows).

    Only people enrolled at least 30 days before the cutoff count. `.summary`: group, n_people, n_goals,
    goals_per_person, n_with_goal, share (with at least one goal) and its Wilson interval.
    """
    cols = ["is_observable_30_days", "n_goals_first_30_days", *([group] if group else [])]
    data, dropped = complete_cases(people, cols)
    seen = data[data["is_observable_30_days"] == 1].copy()
    seen["with_goal"] = (seen["n_goals_first_30_days"] > 0).astype(int)
    t = _shares(seen, "with_goal", group, "n_people", "n_with_goal")
    goals = seen.groupby(_groups(seen, group))["n_goals_first_30_days"].sum()
    t.insert(2, "n_goals", goals.reindex(t["group"]).to_numpy().astype(int))
    t.insert(3, "goals_per_person", t["n_goals"] / t["n_people"])
    excluded = {**excluded_rows(dropped), **excluded_rows(len(data) - len(seen), "enrolled under 30 days before the cutoff")}
    return ModelResult(
        summary=t, n=len(seen), events=int(t["n_goals"].sum()), excluded=excluded,
        how=f"Goals set in the first 30 days after enrollment per participant, and the share who set any, with {WILSON}",
    )


def check_in_relapse(rows: pd.DataFrame, covariates: list[str] | None = None, n_people: int | None = None) -> CoxResult:
    """Hazard ratio of relapse per reached check-in in the previous week (marts.check_in_weekly rows).

    Cox on (start_days, stop_days] rows with `n_reached_prev_week` beside the previous week's attended
    sessions (default), Efron ties, as R coxph(Surv(start, stop, event) ~ ...). Use the rows of matched
    participants: only they can be checked in on. Rows counted per cell (`n_rows`, no participant_key:
    aggregates.week_counts) are fitted as the participant-weeks they stand for, describing `n_people`.
    """
    terms = list(covariates or CHECK_IN_TERMS)
    if "participant_key" not in rows and "n_rows" in rows:
        return fit_time_varying_cox(rows, None, "start_days", "stop_days", "is_relapse", terms, weights="n_rows",
                                    n_people=n_people)  # fmt: skip
    return fit_time_varying_cox(rows, "participant_key", "start_days", "stop_days", "is_relapse", terms)


def check_in_regularity(people: pd.DataFrame, group: str | None = None) -> ModelResult:
    """Share of weeks with a reached check-in since the first match (marts.check_in_regularity rows).

    `.summary`: group, n_people (with at least one week), n_weeks, n_weeks_reached, share (pooled weeks),
    mean_share (mean of each person's share, every person counting once) with a t 95% interval, as
    statsmodels `DescrStatsW(...).tconfint_mean()` and R `t.test`.
    """
    cols = ["n_weeks", "n_weeks_reached", "share_weeks_reached", *([group] if group else [])]
    data, dropped = complete_cases(people[people["n_weeks"] > 0], cols)
    parts = []
    for label, g in data.groupby(_groups(data, group)):
        s = g["share_weeks_reached"].to_numpy(float)
        n = len(s)
        half = t_quantile(0.975, n - 1) * s.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
        parts.append({"group": label, "n_people": n, "n_weeks": int(g["n_weeks"].sum()),
                      "n_weeks_reached": int(g["n_weeks_reached"].sum()),
                      "share": g["n_weeks_reached"].sum() / g["n_weeks"].sum(), "mean_share": s.mean(),
                      "lower_95": s.mean() - half, "upper_95": s.mean() + half})
    cols_out = ["group", "n_people", "n_weeks", "n_weeks_reached", "share", "mean_share", "lower_95", "upper_95"]
    return ModelResult(
        summary=pd.DataFrame(parts, columns=cols_out), n=len(data), events=int(data["n_weeks_reached"].sum()),
        how="Share of weeks since the first match with a reached check-in, pooled and as the mean of each "
        "participant's share with a t 95% confidence interval, as R t.test",
        excluded=excluded_rows(dropped),
    )


def _referrals_of(referrals: pd.DataFrame, types: tuple[str, ...]) -> pd.DataFrame:
    require_columns(referrals, ["resource_type"])
    return referrals[referrals["resource_type"].isin(types)]


def _incidence(df: pd.DataFrame, duration: str, code: str, causes: dict[int, str], group: str | None) -> ModelResult:
    """`analysis.competing.cumulative_incidence`, or an empty summary when there are no rows (no such file)."""
    if df.empty:
        return ModelResult(summary=pd.DataFrame(columns=CIF_COLUMNS), n=0, events=0,
                           how="No rows: cumulative incidence not estimated")
    return cumulative_incidence(df, duration, code, causes, group=group)


def referral_linkage(
    referrals: pd.DataFrame, group: str | None = None, types: tuple[str, ...] = TREATMENT_TYPES
) -> ModelResult:
    """Share of referrals (treatment, MAT and detox by default) connected within 30 days (marts.referrals rows).

    Only referrals made at least 30 days before the cutoff count; a connection without a date is left out
    (its timing is unknown). `.summary`: group, n_referrals, n_connected, share and its Wilson interval.
    """
    chosen = _referrals_of(referrals, types)
    seen = chosen[chosen["is_observable_30_days"] == 1]
    data, dropped = complete_cases(seen, ["is_connected_30_days", *([group] if group else [])])
    t = _shares(data, "is_connected_30_days", group, "n_referrals", "n_connected")
    excluded = {**excluded_rows(len(chosen) - len(seen), "made under 30 days before the cutoff"),
                **excluded_rows(dropped, "connected without a date")}
    return ModelResult(
        summary=t, n=len(data), events=int(t["n_connected"].sum()), excluded=excluded,
        how=f"Share of {', '.join(types)} referrals connected within 30 days, with {WILSON}",
    )


def time_to_connection(
    referrals: pd.DataFrame, group: str | None = None, types: tuple[str, ...] = TREATMENT_TYPES
) -> ModelResult:
    """Cumulative share of referrals connected by each day after the referral (marts.referrals rows).

    Referrals not connected by the cutoff (declined, pending, unknown) are censored there; one cause, so the
    curve is one minus the Kaplan–Meier estimate. `.summary` as `analysis.competing` (cause "connected").
    """
    return _incidence(_referrals_of(referrals, types), "time_days", "is_connected", {1: "connected"}, group)


def supervision_coverage(months: pd.DataFrame, group: str | None = None) -> ModelResult:
    """Share of active mentor-months that met the supervision policy (marts.mentor_months rows).

    `.summary`: group, n_months, n_supervised, share and its Wilson interval. Months without an activity
    row, or inactive, do not count.
    """
    active = months[months["is_active"] == 1]
    data, dropped = complete_cases(active, ["is_supervised", *([group] if group else [])])
    t = _shares(data, "is_supervised", group, "n_months", "n_supervised")
    return ModelResult(
        summary=t, n=len(data), events=int(t["n_supervised"].sum()), excluded=excluded_rows(dropped),
        how=f"Share of active mentor-months with the supervision hours the policy asks for, with {WILSON}",
    )


def incident_rates(months: pd.DataFrame, group: str | None = "is_supervised", per: int = 100) -> ModelResult:
    """Incidents per `per` active mentor-months, by group (supervised or not, by default), exact Poisson CIs.

    `.summary`: group, n_incidents, n_months, rate, lower_95, upper_95 (rates per `per` months), as R
    poisson.test. Incidents in inactive months or months without an activity row are left out and counted
    in `.excluded`.
    """
    active = months[months["is_active"] == 1]
    data, dropped = complete_cases(active, ["n_incidents", *([group] if group else [])])
    t = data.groupby(_groups(data, group)).agg(n_incidents=("n_incidents", "sum"), n_months=("n_incidents", "size"))
    t.index.name = "group"
    t = t.reset_index().astype({"n_incidents": int, "n_months": int})
    t["rate"] = per * t["n_incidents"] / t["n_months"]
    t["lower_95"], t["upper_95"] = poisson_exact(t["n_incidents"].to_numpy(), t["n_months"].to_numpy(), per=per)
    outside = int(months.loc[months["is_active"] != 1, "n_incidents"].sum())
    excluded = {**excluded_rows(dropped), **excluded_rows(outside, "incidents outside an active month")}
    return ModelResult(
        summary=t, n=len(data), events=int(t["n_incidents"].sum()), excluded=excluded,
        how=f"Incidents per {per} active mentor-months with exact Poisson 95% confidence intervals, as R poisson.test",
    )


def incident_rate_ratio(months: pd.DataFrame) -> ModelResult:
    """Rate ratio of incidents in unsupervised vs supervised active months, exact conditional 95% CI and p.

    As R `poisson.test(c(x_unsupervised, x_supervised), c(months_unsupervised, months_supervised))`: the
    unsupervised share of incidents is binomial given the total. `.summary`: one row, term
    "unsupervised vs supervised", rate_ratio, lower_95, upper_95, p.
    """
    active = months[months["is_active"] == 1]
    data, dropped = complete_cases(active, ["n_incidents", "is_supervised"])
    x1, x0 = (int(data.loc[data["is_supervised"] == s, "n_incidents"].sum()) for s in (0, 1))
    t1, t0 = (int((data["is_supervised"] == s).sum()) for s in (0, 1))
    ratio = lower = upper = p = np.nan
    if x1 + x0 > 0 and t1 > 0 and t0 > 0:
        ratio = (x1 / t1) / (x0 / t0) if x0 else np.inf
        lower, upper = (q / (1 - q) * t0 / t1 if q < 1 else np.inf for q in clopper_pearson(x1, x1 + x0))
        p = binomial_p(x1, x1 + x0, t1 / (t1 + t0))
    summary = pd.DataFrame([{"term": "unsupervised vs supervised", "rate_ratio": ratio, "lower_95": lower,
                             "upper_95": upper, "p": p, "n_incidents_unsupervised": x1, "n_months_unsupervised": t1,
                             "n_incidents_supervised": x0, "n_months_supervised": t0}])
    return ModelResult(
        summary=summary, n=len(data), events=x1 + x0, excluded=excluded_rows(dropped),
        how="Incident rate ratio of unsupervised to supervised active mentor-months, exact conditional 95% "
        "confidence interval and p-value, as R poisson.test",
    )


def pathway(completers: pd.DataFrame, group: str | None = None) -> ModelResult:
    """Cumulative share of completers who become mentors, by day since completion (marts.pathway rows).

    No competing event; completers not (yet) mentoring are censored at the cutoff. `.summary` as
    `analysis.competing` (cause "became a mentor").
    """
    return _incidence(completers, "time_days", "is_mentor", {1: "became a mentor"}, group)
