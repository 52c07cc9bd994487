"""The disclosure attack on the Mentoring practice results (analysis.published_practice), as
tests/test_disclosure_attack.py does for the other pages: compute what is published for many selections,
then try each derivation an attacker would.

Derivations: every shown count; share x denominator and its complement; rate x exposure; each table's total
row minus its shown rows (goals by domain, treatment referrals, quarters, supervised and unsupervised months,
sites); selection A minus selection B for every nested pair of participant selections; and the 95% CIs, which
must give back nothing but the shown counts (they are recomputed here from those counts). The mentor-side
results (supervision, incidents, graduates) describe all mentors whatever the selection, so they are attacked
once, and no incident count of 1..k-1 may be shown anywhere, not even by site.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_disclosure_attack import Span, exact, selections, table_count

from peer_outcomes.analysis import disclosure, published_practice
from peer_outcomes.analysis.intervals import poisson_exact, wilson
from peer_outcomes.analysis.published import Published

KEYS = ("domain", "resource_type", "check_ins_last_week", "quarter", "months", "site")
RATES = {  # frame: (numerator, denominator, rate column, scale, interval)
    "goals": ("n_met", "n_goals", "share_met", 1, wilson),
    "goals_first": ("n_with_goal", "n_followed", "share_with_goal", 1, wilson),
    "referrals": ("n_connected", "n_referrals", "share_connected", 1, wilson),
    "check_ins": ("n_relapses", "person_weeks", "relapses_per_100_weeks", 100, poisson_exact),
    "check_in_regularity": ("n_weeks_reached", "person_weeks", "share_reached", 1, wilson),
    "pathway": ("n_mentoring", "n_completers", "share_mentoring", 1, wilson),
    "supervision": ("n_supervised", "mentor_months", "share_supervised", 1, wilson),
    "incidents": ("n_incidents", "mentor_months", "incidents_per_100", 100, poisson_exact),
    "incidents_by_site": ("n_incidents", "mentor_months", "incidents_per_100", 100, poisson_exact),
    "graduates": ("n_graduates", "n_mentors", "share_graduates", 1, wilson),
}
TOTALS = {  # frame: (key column, total row, the rows that add up to it (None: all others), counts)
    "goals": ("domain", "all domains", None, ("n_goals", "n_met")),
    "referrals": ("resource_type", "all treatment", ("treatment", "mat", "detox"), ("n_referrals", "n_connected")),
    "supervision": ("quarter", "all quarters", None, ("mentor_months", "n_supervised")),
    "incidents": ("months", "all active months", None, ("mentor_months", "n_incidents")),
}


def _key(frame: str, row: pd.Series) -> tuple:
    return (frame, *(row[c] for c in KEYS if c in row.index))


def facts(pub: Published, extra_total: Span | None = None) -> Iterator[tuple[tuple, Span, str]]:
    """Every count the published frames show or give by a derivation, as (key, span, how)."""
    for fname, fr in pub.frames.items():
        if fr.empty or fname not in RATES:
            continue
        num, den, rate, scale, _ = RATES[fname]
        for _, row in fr.iterrows():
            for col in (num, den):
                yield (*_key(fname, row), col), table_count(row[col]), f"{fname}.{col}"
            if pd.notna(row[rate]) and pd.notna(row[den]):
                x = row[rate] * row[den] / scale
                derived = table_count(round(x)) if abs(x - round(x)) < 1e-6 else exact(x)
                yield (*_key(fname, row), f"{rate} x {den}"), derived, "rate x denominator"
                yield (*_key(fname, row), f"rest of {den}"), table_count(row[den]) - derived, "complement"
        if fname in TOTALS:
            key, total, parts, counts = TOTALS[fname]
            rows = fr.set_index(key)
            if total in rows.index:
                members = [p for p in (parts or rows.index.drop(total)) if p in rows.index]
                for col in counts:
                    shown = Span(0, 0)
                    for m in members:
                        if pd.notna(rows.loc[m, col]):
                            shown = shown + table_count(rows.loc[m, col])
                    yield (fname, "rest", col), table_count(rows.loc[total, col]) - shown, "total - shown rows"
    sites = pub.frames.get("incidents_by_site", pd.DataFrame())
    incidents = pub.frames.get("incidents", pd.DataFrame())
    if len(sites) and len(incidents):  # the sites add up to all active months
        total = incidents.set_index("months").loc["all active months"]
        for col in ("mentor_months", "n_incidents"):
            shown = Span(0, 0)
            for v in sites[col].dropna():
                shown = shown + table_count(v)
            yield ("incidents_by_site", "rest", col), table_count(total[col]) - shown, "all months - shown sites"


def cis_from_shown_counts(pub: Published) -> list[str]:
    """Rows whose 95% CI is not the interval of the shown counts (so it could carry the exact ones)."""
    bad = []
    for fname, fr in pub.frames.items():
        if fr.empty or fname not in RATES:
            continue
        num, den, rate, scale, interval = RATES[fname]
        lo, hi = interval(fr[num].to_numpy(float), fr[den].to_numpy(float), *([scale] if scale != 1 else []))
        shown = fr[rate].notna().to_numpy()
        for bound, want in ((f"{rate}_lower_95", lo), (f"{rate}_upper_95", hi)):
            got = fr[bound].to_numpy(float)
            if not (np.allclose(got[shown], want[shown], rtol=1e-12) and np.isnan(got[~shown]).all()):
                bad.append(f"{fname}.{bound}")
    return bad


def attack(db: Path, k: int) -> list[str]:
    sel, pairs = selections(db)
    known: dict[str, dict[tuple, Span]] = {}
    found = []
    for name, f in sel.items():
        pub = published_practice.practice(db, f)
        found += [f"{name}: CI {c} is not that of the shown counts" for c in cis_from_shown_counts(pub)]
        known[name] = {}
        for key, span, how in facts(pub):
            known[name][key] = span
            if span.recovers_small(k):
                found.append(f"{name}: {how} {key} -> {span}")
    for a, b in pairs:
        for key in known[a].keys() & known[b].keys():
            if (known[a][key] - known[b][key]).recovers_small(k):
                found.append(f"{a} minus {b}: {key} -> {known[a][key] - known[b][key]}")
    mentors = published_practice.mentor_practice(db)
    found += [f"mentors: CI {c} is not that of the shown counts" for c in cis_from_shown_counts(mentors)]
    found += [f"mentors: {how} {key} -> {span}" for key, span, how in facts(mentors) if span.recovers_small(k)]
    for fname in ("incidents", "incidents_by_site"):
        shown = mentors.frames[fname]["n_incidents"].dropna()
        found += [f"mentors: {fname} shows {v:g} incidents" for v in shown if 1 <= v < k]
    return found


@pytest.mark.parametrize("name", ["session", "sites_60", "size_26"])
def test_no_practice_figure_can_be_worked_back_to_fewer_than_11(synth_warehouse, program, name):
    db = synth_warehouse if name == "session" else program(name)
    found = attack(db, disclosure.threshold())
    assert not found, f"{len(found)} recoveries, e.g.\n" + "\n".join(found[:15])


def test_the_attacker_finds_a_small_incident_count_when_one_is_published():
    """The yardstick: an exact 6 incidents at a site, or a hidden site that all months minus the others give
    back exactly, is caught."""
    months = pd.DataFrame({"months": ["less", "more", "all active months"], "mentor_months": [100.0, 200, 300],
                           "n_incidents": [20.0, 27, 47], "incidents_per_100": np.nan})  # fmt: skip
    sites = pd.DataFrame({"site": ["a", "b"], "mentor_months": [150.0, 150], "n_incidents": [41.0, 6],
                          "incidents_per_100": np.nan})  # fmt: skip
    pub = Published({"incidents": months, "incidents_by_site": sites}, "", "", 0.0)
    assert any(span.recovers_small(11) for _, span, _ in facts(pub))
    sites.loc[1, "n_incidents"] = np.nan
    assert any(key[1] == "rest" and span.recovers_small(11) for key, span, _ in facts(pub))
