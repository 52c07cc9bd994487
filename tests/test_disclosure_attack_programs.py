"""The disclosure attack across programs (issue 17): program A (12 people, all at site north in one track) and
program B (300, with a site north too) in one warehouse (conftest `two_programs`).

The attacker of tests/test_disclosure_attack.py computes every published result for every selection the
dashboard and the evidence command offer, now with program choices and the compare-by-program curves, and
tries each derivation: within a selection, and selection A minus selection B for the nested pairs (all
programs minus each program, a site minus that site in one program, ...). Nothing may recover a count of 1
to k - 1. Also: A's small cells (its months, its groups) never come back from B or from the total, and the
evidence pack's CSVs for one program hold only numbers the published layer gave.
"""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from test_disclosure_attack import outputs, run_attack, selections

from peer_outcomes.analysis import disclosure, published
from peer_outcomes.analysis.queries import Filters
from peer_outcomes.dashboard import evidence, figures


def program_selections(db) -> tuple[dict[str, Filters], list[tuple[str, str]]]:
    """The usual selections, each program alone and all but it, and a shared site within one program."""
    sel, pairs = selections(db)
    offered = published.filter_options(db)["programs"]
    assert offered == ["a", "b"], "both programs are offered: A is exactly one cell of 12"
    for p in offered:
        sel[f"programs={p}"] = Filters(programs=(p,))
        sel[f"programs={p},sites=north"] = Filters(programs=(p,), sites=("north",))
        pairs += [("all", f"programs={p}"), ("sites=north", f"programs={p},sites=north")]
    sel.setdefault("sites=north", Filters(sites=("north",)))
    for name, f in list(sel.items()):  # each earlier selection within program B alone, minus its total
        if name.startswith(("to ", "from ", "tracks")):
            sel[f"b & {name}"] = Filters(
                enrolled_from=f.enrolled_from, enrolled_to=f.enrolled_to, tracks=f.tracks, programs=("b",)
            )
            pairs += [(name, f"b & {name}"), ("programs=b", f"b & {name}")]
    return sel, pairs


def program_outputs(db, f: Filters, compare: bool) -> dict[str, published.Published]:
    """The pages' results (and their compare-by-program curves when `compare`), and the evidence pack's curves
    compared by program in every selection where the pack draws them (two or more programs in it)."""
    pubs = outputs(db, f, compare)
    if compare:
        pubs["retention by program"] = published.retention(db, f, by="program")
        pubs["relapse_free by program"] = published.relapse_free(db, f, by="program")
        pubs["competing by program"] = published.competing_risks(db, f, by="program")
    if evidence.compares_programs(f, published.filter_options(db)["programs"]):
        pubs |= {f"pack {key}": fn(db, f) for key, (fn, _) in evidence.BY_PROGRAM.items()}
    return pubs


def attack(db, k: int) -> list[str]:
    sel, pairs = program_selections(db)
    return run_attack(sel, pairs, lambda name, f: program_outputs(db, f, compare=name in ("all", "sites=north")), k)


def test_no_published_number_across_programs_works_back_to_fewer_than_11_people(two_programs):
    found = attack(two_programs.final, disclosure.threshold())
    assert not found, f"{len(found)} recoveries, e.g.\n" + "\n".join(found[:15])


def test_program_a_is_a_whole_cell_in_or_out_of_every_selection(two_programs):
    """All programs minus B is exactly A's 12 people (one whole cell of at least k), never part of it."""
    db = two_programs.final
    n = {p: published.headline(db, Filters(programs=p)).n for p in ((), ("a",), ("b",))}
    assert n[()] - n[("b",)] == n[("a",)] == 12


def test_a_program_smaller_than_k_is_left_out_and_not_offered(two_programs, monkeypatch):
    db = two_programs.final
    monkeypatch.setenv("PEER_OUTCOMES_MIN_CELL", "13")
    assert published.filter_options(db)["programs"] == []  # one program left to offer: no choice at all
    everyone, only_b = published.headline(db, Filters()), published.headline(db, Filters(programs=("b",)))
    assert everyone.n == only_b.n
    assert published.headline(db, Filters(programs=("a",))).n != 12
    assert any("1 program with fewer than 13 participants is left out" in note for note in everyone.notes)


def test_compare_by_program_names_each_program_and_says_each_cutoff(two_programs):
    db = two_programs.final
    pub = published.retention(db, Filters(), by="program")
    assert set(pub.frames["summary"]["group"]) == {"a", "b"}  # no program_name in the mapping: the code
    assert "data to 2026-06-30 (a), 2026-09-30 (b)" in pub.population
    assert "data to 2026-09-30" in published.retention(db, Filters(programs=("b",))).population


@pytest.fixture(scope="module")
def packs(two_programs, tmp_path_factory) -> dict[str, dict[str, pd.DataFrame]]:
    """The evidence pack's CSVs for all programs and for program B, built by the real command's code."""
    out = {}
    for name, programs in (("all", None), ("b", ["b"])):
        where = tmp_path_factory.mktemp(f"pack_{name}")
        evidence.build_pack(two_programs.final, where, evidence.parse_filters(None, None, None, programs=programs))
        out[name] = {p.stem: pd.read_csv(p) for p in where.rglob("*.csv")}
        out[name]["charts"] = sorted(p.name for p in (where / "charts").iterdir())
        out[name]["manifest"] = json.loads((where / "manifest.json").read_text())
    return out


def test_the_pack_manifest_names_each_program_cutoff_gap_and_the_chosen_programs(packs):
    assert packs["all"]["manifest"]["data"]["programs"] == [
        {"program": "a", "name": "a", "as_of": "2026-06-30", "gap_days": 30},
        {"program": "b", "name": "b", "as_of": "2026-09-30", "gap_days": 30},
    ]
    assert packs["b"]["manifest"]["parameters"]["programs"] == ["b"]
    assert packs["all"]["manifest"]["parameters"]["programs"] == []


def test_evidence_csvs_for_one_program_and_for_all_differ_by_no_small_count(packs):
    k = disclosure.threshold()
    for stem in (packs["all"].keys() & packs["b"].keys()) - {"manifest", "charts"}:
        a, b = packs["all"][stem], packs["b"][stem]
        counts = [c for c in a.columns if c in b.columns and (c == "n" or c.startswith("n_")) and c != "n_at_risk"]
        keys = [c for c in a.columns if c in b.columns and a[c].dtype == object and c not in counts]
        if not counts or not keys:
            continue
        both = a.merge(b, on=keys, suffixes=("_all", "_b"))
        for c in counts:
            diff = pd.to_numeric(both[f"{c}_all"], errors="coerce") - pd.to_numeric(both[f"{c}_b"], errors="coerce")
            exact = diff[(diff % disclosure.ROUND_COUNTS != 0)]  # a rounded difference is anything +-4
            assert not exact.between(1, k - 1).any(), f"{stem}.{c}: all programs minus B gives {exact.tolist()}"


BY_PROGRAM_FILES = [(key, figure, stem, frame) for key, figure, csvs in evidence.PACK if key in evidence.BY_PROGRAM
                    for stem, frame in csvs.items()]  # fmt: skip


def test_the_pack_of_two_programs_compares_them_with_exactly_the_published_frames(packs, two_programs):
    """Every compare-by-program CSV of the pack is the published frame the attacker above checks, as the
    dashboard's download shows it; with one program chosen there is nothing to compare and no such file."""
    assert len(BY_PROGRAM_FILES) == 10
    for key, figure, stem, frame in BY_PROGRAM_FILES:
        pub = evidence.BY_PROGRAM[key][0](two_programs.final, Filters())
        expected = pd.read_csv(io.StringIO(disclosure.csv_text(figures.shown(pub, frame))))
        pd.testing.assert_frame_equal(packs["all"][stem], expected)
        assert set(packs["all"][stem]["group"]) == {"a", "b"}, stem
        assert stem not in packs["b"]
        assert f"{figure.name}.png" in packs["all"]["charts"] and f"{figure.name}.svg" in packs["all"]["charts"]
        assert not any(c.startswith(figure.name) for c in packs["b"]["charts"])
