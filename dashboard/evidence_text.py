"""The evidence pack's words: key findings, the headline table, the methods paragraph and limitations.

Everything is written from published (already suppressed) frames; a number that was hidden says why, as
the published layer recorded it (`disclosure.status_words`, "< 11" for a count), and is never re-derived. Outcome definitions are quoted from the mart spec (marts.yml), the one
place they live, so the methods paragraph cannot drift from the SQL.
"""

from __future__ import annotations

import math

import pandas as pd

from peer_outcomes.analysis import disclosure
from peer_outcomes.analysis.published import Published
from peer_outcomes.analysis.queries import mart_definitions
from peer_outcomes.dashboard import words
from peer_outcomes.pipelines.config import HEADLINE_DAYS

NOT_REACHED = "not reached"


def hidden(status: str = "") -> str:
    """Why an estimate is empty, in words; one without a recorded reason was hidden as a small cell (the
    published layer's default, as `disclosure.label` reads it)."""
    return disclosure.status_words(status or disclosure.HIDDEN_SMALL)


def pct(v: float) -> str:
    return hidden() if v is None or pd.isna(v) else f"{100 * v:.0f}%"


def rate(v: float) -> str:
    return hidden() if v is None or pd.isna(v) else f"{v:.1f}"


def ci(lo: float, hi: float, fmt=pct) -> str:
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return "–"
    return f"{fmt(lo)} to {fmt(hi)}"


def days(v: float) -> str:
    """A median in days; an empty one was not reached while enough people were followed."""
    return NOT_REACHED if v is None or pd.isna(v) else f"{v:,.0f} days"


def _said(pub: Published, frame: str, row: pd.Series, column: str, fmt=pct) -> str:
    """One published cell as the report says it: the number, or why it is empty, as the published layer
    recorded it ("hidden (fewer than 11 people)", "not reached yet")."""
    if pd.notna(row[column]):
        return fmt(row[column])
    code = disclosure.cell_status(pub.frames[frame], column).get(row.name, "")
    return disclosure.status_words(code) if code else fmt(row[column])


def _count(pub: Published, frame: str, row: pd.Series, column: str) -> str:
    """One published count as the report says it: the number, or "< 11" (or why else it is empty) exactly as
    `disclosure.label` writes it in the CSVs."""
    if pd.notna(row[column]):
        return f"{row[column]:,.0f}"
    return str(disclosure.label(pub.frames[frame].loc[[row.name]], [column])[column].iloc[0])


def _rate(pub: Published, t: int) -> pd.Series | None:
    rates = pub.frames.get("rates", pd.DataFrame())
    row = rates[(rates["group"] == "All") & (rates["time"] == t)] if len(rates) else rates
    return row.iloc[0] if len(row) else None


def _median(pub: Published) -> pd.Series | None:
    s = pub.frames.get("summary", pd.DataFrame())
    return s.iloc[0] if len(s) else None


def cif_at(pub: Published, t: int) -> dict[str, pd.Series]:
    """Cumulative incidence of each cause at day t, if the (truncated) curve reaches that far."""
    cif = pub.frames.get("cif", pd.DataFrame())
    out = {}
    for cause, d in cif.groupby("cause") if len(cif) else []:
        if d["time"].max() >= t:
            out[str(cause)] = d[d["time"] <= t].iloc[-1]
    return out


def cif_horizon(pub: Published) -> tuple[int, dict[str, pd.Series]]:
    """The latest of 365, 180 and 90 days that every cause's (truncated) incidence curve reaches."""
    for t in (365, 180, 90):
        found = cif_at(pub, t)
        if found and len(found) == pub.frames["cif"]["cause"].nunique():
            return t, found
    return 0, {}


def headline_rows(r: dict[str, Published]) -> list[tuple[str, str, str]]:
    """(measure, estimate, 95% CI) rows for the report's table and headline.csv."""
    raw = r["headline"].frames.get("tiles", pd.DataFrame())
    tiles = raw.set_index("key") if len(raw) else raw
    rows: list[tuple[str, str, str]] = []
    enrolled = raw[raw["key"] == "enrolled"] if len(raw) else raw
    n = _count(r["headline"], "tiles", enrolled.iloc[0], "value") if len(enrolled) else disclosure.mask_text()
    rows.append(("Participants", n, "–"))
    for t in HEADLINE_DAYS:
        if (row := _rate(r["retention"], t)) is not None:
            rows.append((f"Still engaged at {t} days", _said(r["retention"], "rates", row, "survival"),
                         ci(row["lower_95"], row["upper_95"])))  # fmt: skip
    if (m := _median(r["retention"])) is not None:
        rows.append(("Median time engaged", _said(r["retention"], "summary", m, "median", days),
                     ci(m["median_lower_95"], m["median_upper_95"], days)))  # fmt: skip
    for t in (90, 180, 365):
        if (row := _rate(r["relapse_free"], t)) is not None:
            rows.append((f"Relapse-free at {t} days", _said(r["relapse_free"], "rates", row, "survival"),
                         ci(row["lower_95"], row["upper_95"])))  # fmt: skip
    horizon, first = cif_horizon(r["competing"])
    for cause, row in first.items():
        rows.append((f"{cause.capitalize()} first, within {horizon} days", _said(r["competing"], "cif", row, "cif"),
                     ci(row["lower_95"], row["upper_95"])))  # fmt: skip
    if len(tiles) and "matched" in tiles.index:
        of = tiles["of"]["matched"] if "of" in tiles else ""
        matched = raw[raw["key"] == "matched"].iloc[0]
        rows.append((f"Matched with a mentor ({words.plain(of)})" if of else "Matched with a mentor",
                     _said(r["headline"], "tiles", matched, "value"), "–"))  # fmt: skip
    att = r["milestones"].frames.get("attainment", pd.DataFrame())
    for _, row in att[att["milestone_days"].isin([90, 365])].iterrows() if len(att) else []:
        rows.append((f"Reached {int(row['milestone_days'])} days sober", _said(r["milestones"], "attainment", row, "share"),
                     ci(row["share_lower_95"], row["share_upper_95"])))  # fmt: skip
    return rows + practice_rows(r)


# The practice section's headline rows: (result, frame, key column, key, share or rate, denominator, measure).
PRACTICE_ROWS = (
    ("practice", "goals", "domain", "all domains", "share_met", "n_goals", "Goals met within 180 days (of {n} goals)"),
    ("practice", "goals_first", None, None, "share_with_goal", "n_followed",
     "Set a goal in the first 30 days (of {n})"),
    ("practice", "referrals", "resource_type", "all treatment", "share_connected", "n_referrals",
     "Treatment referrals connected in 30 days (of {n})"),
    ("practice", "check_in_regularity", None, None, "share_reached", "person_weeks",
     "Weeks with a reached check-in (of {n})"),
    ("practice", "pathway", None, None, "share_mentoring", "n_completers",
     "Completers mentoring within a year (of {n})"),
    ("mentor_practice", "supervision", "quarter", "all quarters", "share_supervised", "mentor_months",
     "Mentor-months supervised per policy (of {n})"),
    ("mentor_practice", "incidents", "months", "all active months", "incidents_per_100", "mentor_months",
     "Incidents per 100 mentor-months (of {n})"),
    ("mentor_practice", "graduates", None, None, "share_graduates", "n_mentors",
     "Mentors who were participants (of {n})"),
)  # fmt: skip


def _practice_row(r: dict[str, Published], result: str, frame: str, col: str | None, key: str | None) -> pd.Series | None:
    fr = r[result].frames.get(frame, pd.DataFrame()) if result in r else pd.DataFrame()
    fr = fr[fr[col] == key] if col and len(fr) else fr
    return fr.iloc[0] if len(fr) else None


def practice_rows(r: dict[str, Published]) -> list[tuple[str, str, str]]:
    """The mentoring-practice headline rows, each with its denominator in words and its 95% CI."""
    rows = []
    for result, frame, col, key, value, den, measure in PRACTICE_ROWS:
        if (row := _practice_row(r, result, frame, col, key)) is None:
            continue
        fmt = pct if value.startswith("share") else rate
        n = disclosure.rounded_text(row[den]) if pd.notna(row[den]) else _count(r[result], frame, row, den)
        rows.append((measure.format(n=n), _said(r[result], frame, row, value, fmt),
                     ci(row[f"{value}_lower_95"], row[f"{value}_upper_95"], fmt)))  # fmt: skip
    return rows


def findings(r: dict[str, Published]) -> list[str]:
    """Four to six sentences in plain words, each carrying its uncertainty."""
    out = []
    tiles = r["headline"].frames.get("tiles", pd.DataFrame()).set_index("key")
    if len(tiles):
        n = tiles["value"].get("enrolled")
        out.append(f"The program enrolled {n:,.0f} participants in this period." if pd.notna(n) else
                   disclosure.too_few_sentence("participants match this selection", "so nothing is shown"))  # fmt: skip
    if (row := _rate(r["retention"], 90)) is not None and pd.notna(row["survival"]):
        m = _median(r["retention"])
        half = (f" Half had disengaged by day {m['median']:,.0f}." if m is not None and pd.notna(m["median"])
                else " More than half were still engaged at the end of follow-up.")  # fmt: skip
        out.append(f"{pct(row['survival'])} (95% CI {ci(row['lower_95'], row['upper_95'])}) were still engaged "
                   f"90 days after enrolling.{half}")  # fmt: skip
    if (row := _rate(r["relapse_free"], 180)) is not None and pd.notna(row["survival"]):
        out.append(f"{pct(row['survival'])} (95% CI {ci(row['lower_95'], row['upper_95'])}) had not relapsed "
                   "180 days after enrolling, counting only relapses reported while in contact.")  # fmt: skip
    horizon, first = cif_horizon(r["competing"])
    if first:
        what = {"relapse": "relapsed", "dropout": "dropped out", "completion": "completed the program"}
        parts = [f"{pct(v['cif'])} {what.get(k, k)}" for k, v in first.items()]
        out.append(f"Within {horizon} days of enrolling, before anything else happened: " + ", ".join(parts) + ".")
    out += comparisons(r["cox"].frames.get("forest", pd.DataFrame()))
    return out + practice_findings(r)


def practice_findings(r: dict[str, Published]) -> list[str]:
    """Mentoring practice in a sentence or two: treatment referral linkage and incident rates by supervision."""
    out = []
    row = _practice_row(r, "practice", "referrals", "resource_type", "all treatment")
    if row is not None and pd.notna(row["share_connected"]):
        out.append(f"{pct(row['share_connected'])} (95% CI {ci(row['share_connected_lower_95'], row['share_connected_upper_95'])}) "
                   f"of {disclosure.rounded_text(row['n_referrals'])} treatment referrals connected within 30 days.")  # fmt: skip
    inc = r["mentor_practice"].frames.get("incidents", pd.DataFrame()) if "mentor_practice" in r else pd.DataFrame()
    shown = inc[inc["incidents_per_100"].notna() & (inc["months"] != "all active months")] if len(inc) else inc
    if len(shown) == 2:
        parts = [f"{v['incidents_per_100']:.1f} (95% CI {v['incidents_per_100_lower_95']:.1f} to "
                 f"{v['incidents_per_100_upper_95']:.1f}) in months with {v['months']}" for _, v in shown.iterrows()]
        out.append("Incidents per 100 active mentor-months: " + "; ".join(parts) +
                   "; an association, not a cause.")  # fmt: skip
    return out


MAX_COMPARISONS = 3  # findings from the relapse model: the track comparison, then the clearest others


def comparisons(forest: pd.DataFrame) -> list[str]:
    """The relapse model's findings as a funder reads them, one sentence per comparison: the track
    comparison always, then the other comparisons whose 95% CI excludes 1, largest first."""
    if not len(forest):
        return []
    shown = forest.dropna(subset=["hr", "hr_lower_95", "hr_upper_95"])
    shown = shown[shown["term"].str.contains(r"\[T\.", regex=True)]  # categorical levels: "x[T.level]"
    clear = (shown["hr_lower_95"] > 1) | (shown["hr_upper_95"] < 1)
    track = shown["term"].str.startswith("program_track[")
    others = shown[clear & ~track].assign(size=lambda d: d["hr"].map(math.log).abs()).sort_values("size", ascending=False)
    picked = pd.concat([shown[track], others]).head(MAX_COMPARISONS)
    if not len(picked[picked.index.isin(shown[clear].index)]) and not track.any():
        return ["No characteristic in the relapse model was clearly associated with time to relapse."]
    return [_comparison(t) for _, t in picked.iterrows()]


def _comparison(t: pd.Series) -> str:
    """ "People in usual care relapsed sooner than people with a peer mentor (hazard ratio 1.51, 95% CI
    1.29–1.78); this is an association, not proof of cause." The direction comes from the CI: one spanning 1
    reads "no clear difference"."""
    characteristic, level = t["term"][:-1].split("[T.", 1)
    reference = str(t["label"]).split(f"{characteristic}: {level} vs ", 1)[-1]
    a, b = words.people(characteristic, level), words.people(characteristic, reference)
    numbers = f"hazard ratio {t['hr']:.2f}, 95% CI {t['hr_lower_95']:.2f}–{t['hr_upper_95']:.2f}"
    if t["hr_lower_95"] > 1:
        said = f"{a} relapsed sooner than {b}"
    elif t["hr_upper_95"] < 1:
        said = f"{a} relapsed later than {b}"
    else:
        said = f"there was no clear difference in time to relapse between {a} and {b}"
    return f"{said[:1].upper()}{said[1:]} ({numbers}); this is an association, not proof of cause."


def _definition(mart: str) -> str:
    text = mart_definitions().get(mart, "").rstrip(".")
    return text[:1].upper() + text[1:] if text else ""


def methods(r: dict[str, Published], settings: dict, period: tuple[object, object]) -> list[str]:
    """The methods paragraphs: population and period, outcomes, models, censoring, suppression."""
    def strip(s: str) -> str:  # the suppression sentence is said once, at the end
        return s.replace(disclosure.methods_sentence(), "").strip() or "not fitted: too few people or events in this selection to estimate."

    pop = r["headline"].population
    gap = settings.get("gap") or f"{settings.get('gap_days')} days"  # each program's own when they differ
    lo, hi = (pd.Timestamp(d).strftime("%Y-%m-%d") for d in period)
    out = [
        f"Population: {pop}; enrolled from {lo} to {hi}, followed up to the data cutoff (as_of) "
        f"{pd.Timestamp(settings.get('as_of')):%Y-%m-%d}. A participant "
        f"disengages at a dropout exit or after {gap} without an attended session. "
        f"Numbers of events: {_events(r)}.",
        f"Retention: {_definition('retention')}. Relapse: {_definition('relapse')}. Competing outcomes: "
        f"{_definition('competing')}. Milestones: {_definition('milestones')}.",
        f"Retention and relapse-free survival: {strip(r['retention'].technical)} Competing outcomes: "
        f"{strip(r['competing'].technical)} Relapse model: {strip(r['cox'].technical)}",
        f"Milestones: {strip(r['milestones'].technical)} Reach: {strip(r['served'].technical)}",
        *([f"Mentoring practice: {strip(r['practice'].technical)} {strip(r['mentor_practice'].technical) if 'mentor_practice' in r else ''}".strip()]
          if "practice" in r else []),
        f"Disclosure control: {disclosure.methods_sentence()} Only published aggregates appear in this pack; no row-level data "
        "and no pseudonyms.",
    ]
    return out


def _events(r: dict[str, Published]) -> str:
    parts = []
    for key, what in (("retention", "disengagements"), ("relapse_free", "first relapses")):
        s = r[key].frames.get("summary", pd.DataFrame())
        if len(s):
            parts.append(f"{what} {_count(r[key], 'summary', s.iloc[0], 'events')}")
    return ", ".join(parts) or "none published"


def limitations(r: dict[str, Published], tracks: list[str]) -> list[str]:
    """Plain-words limits of what these numbers can show."""
    out = ["These are observational data from the program's own records: they show associations, not the "
           "effect of mentoring. People who stay, or who are matched sooner, may differ in ways not recorded."]  # fmt: skip
    if len(tracks) > 1:
        out.append(f"Tracks ({', '.join(tracks)}) are compared, but people were not assigned to them at random; "
                   "differences between tracks may reflect who joined each.")  # fmt: skip
    else:
        out.append("There is no comparison arm: the curves describe participants in the program, not what would "
                   "have happened without it.")  # fmt: skip
    if "retention_by_program" in r and len(r["retention_by_program"].frames.get("summary", ())) > 1:  # one row a program
        out.append("Programs are compared, but each enrolls different people at its own sites and has its own data "
                   "cutoff; differences between programs may reflect whom each serves, not how well.")  # fmt: skip
    out += [
        "Relapse is known only when reported (self-report, tests, collateral) while a participant is in contact; "
        "follow-up for relapse ends at the last contact, so relapses after disengagement are not seen.",
        "Recent enrollees have short follow-up: estimates at later times rest on fewer, earlier participants, and "
        f"curves stop where fewer than {disclosure.threshold()} remain at risk.",
        disclosure.small_groups_sentence(),
    ]
    if "milestones" in r and len(r["milestones"].frames.get("attainment", [])):  # the headline table has both kinds of 90 days
        out.append(words.MILESTONES_START)
    return out
