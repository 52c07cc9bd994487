"""A site coordinator's population: every published result computed with their `allowed_sites` in the whole
program's warehouse equals the same result in a warehouse that never held another site's rows (tests/reach.py),
so no figure, note, period or suppression decision they see was computed from another site."""

from __future__ import annotations

import pandas as pd
import pytest
from reach import COORDINATOR_SITES

from peer_outcomes.analysis import published
from peer_outcomes.analysis.queries import Filters

COORDINATOR = Filters(allowed_sites=COORDINATOR_SITES)
RESULTS = [
    ("headline", {}), ("retention", {}), ("retention", {"by": "program_track"}), ("retention", {"by": "main_format"}),
    ("retention", {"by": "cohort_quarter"}), ("relapse_free", {}), ("relapse_free", {"by": "program_track"}),
    ("cohort_retention", {}), ("competing_risks", {}), ("relapse_cox", {}), ("milestones", {}), ("engagement", {}),
    ("mentors", {}), ("participants_served", {}),
]  # fmt: skip


def _same(a: published.Published, b: published.Published) -> None:
    assert a.frames.keys() == b.frames.keys()
    for name in a.frames:
        pd.testing.assert_frame_equal(a.frames[name], b.frames[name], check_dtype=False, obj=name)
    assert (a.methods, a.notes, a.population) == (b.methods, b.notes, b.population)
    assert a.n == b.n or (pd.isna(a.n) and pd.isna(b.n))


@pytest.mark.parametrize(("name", "kwargs"), RESULTS, ids=[f"{n}-{k.get('by', 'all')}" for n, k in RESULTS])
def test_a_coordinator_sees_exactly_what_a_warehouse_of_their_sites_alone_gives(reach_warehouses, name, kwargs):
    whole, sites_only = reach_warehouses
    func = getattr(published, name)
    _same(func(whole, COORDINATOR, **kwargs), func(sites_only, Filters(), **kwargs))


def test_the_restriction_matters_the_whole_program_gives_other_numbers(reach_warehouses):
    whole, _ = reach_warehouses
    coordinator, everyone = published.headline(whole, COORDINATOR), published.headline(whole, Filters())
    assert coordinator.n < everyone.n


def test_a_coordinator_is_offered_only_their_sites_and_their_own_periods(reach_warehouses):
    whole, sites_only = reach_warehouses
    assert published.filter_options(whole, COORDINATOR_SITES) == published.filter_options(sites_only)
    assert set(published.filter_options(whole)["sites"]) > set(COORDINATOR_SITES)


def test_asking_for_another_site_within_a_coordinators_reach_gives_no_one(reach_warehouses):
    whole, _ = reach_warehouses
    pub = published.headline(whole, Filters(sites=("south",), allowed_sites=COORDINATOR_SITES))
    assert pub.empty and pd.isna(pub.n)


def _pdf_lines(path) -> list[str]:
    from pypdf import PdfReader

    text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    return [line for line in text.splitlines() if "data version" not in line]  # the footer names the warehouse


def test_a_coordinators_evidence_pack_holds_what_a_pack_of_their_sites_alone_holds(reach_warehouses, tmp_path):
    from peer_outcomes.dashboard.evidence import build_pack

    whole, sites_only = reach_warehouses
    build_pack(whole, tmp_path / "coordinator", COORDINATOR)
    build_pack(sites_only, tmp_path / "alone", Filters(allowed_sites=COORDINATOR.allowed_sites))
    files = sorted(p.relative_to(tmp_path / "coordinator") for p in (tmp_path / "coordinator").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "alone") for p in (tmp_path / "alone").rglob("*") if p.is_file())
    for csv in (f for f in files if f.suffix == ".csv"):
        assert (tmp_path / "coordinator" / csv).read_text() == (tmp_path / "alone" / csv).read_text(), csv
    assert _pdf_lines(tmp_path / "coordinator" / "report.pdf") == _pdf_lines(tmp_path / "alone" / "report.pdf")


# A role limited to program A (docs/deploy.md, `programs` in an [[access]] rule) on the two-program warehouse
# of tests/programs.py: what it sees equals what a warehouse that only ever held A shows (A's snapshot before
# B was loaded), so nothing of B (people, cutoff, periods, small cells, name) reaches it.
PROGRAM_A = Filters(allowed_programs=("a",))


@pytest.mark.parametrize(("name", "kwargs"), RESULTS, ids=[f"{n}-{k.get('by', 'all')}" for n, k in RESULTS])
def test_a_role_of_program_a_sees_exactly_what_a_warehouse_of_a_alone_gives(two_programs, name, kwargs):
    func = getattr(published, name)
    _same(func(two_programs.final, PROGRAM_A, **kwargs), func(two_programs.a_only, Filters(), **kwargs))


def test_a_role_of_program_b_sees_what_choosing_b_gives_and_not_the_whole_warehouse(two_programs):
    only_b = Filters(allowed_programs=("b",))
    for name in ("headline", "retention", "relapse_free", "milestones", "participants_served"):
        mine, chosen = getattr(published, name)(two_programs.final, only_b), getattr(published, name)(two_programs.final, Filters(programs=("b",)))
        assert mine.n == chosen.n, name
        for frame in mine.frames:
            pd.testing.assert_frame_equal(mine.frames[frame], chosen.frames[frame], check_dtype=False, obj=f"{name} {frame}")
    assert published.headline(two_programs.final, only_b).n < published.headline(two_programs.final, Filters()).n


def test_sites_in_a_program_rule_are_those_sites_within_its_programs(two_programs):
    north_of_a = Filters(allowed_sites=("north",), allowed_programs=("a",))
    assert published.headline(two_programs.final, north_of_a).n == published.headline(two_programs.a_only, Filters()).n
    assert published.headline(two_programs.final, Filters(allowed_sites=("north",))).n > published.headline(two_programs.final, north_of_a).n
    assert pd.isna(published.headline(two_programs.final, Filters(programs=("b",), allowed_programs=("a",))).n)


def test_a_role_of_program_a_is_offered_only_a_and_its_own_periods(two_programs):
    opts = published.filter_options(two_programs.final, (), ("a",))
    assert opts == published.filter_options(two_programs.a_only)
    assert set(opts["program_names"]) == {"a"}
    assert published.filter_options(two_programs.final, (), ("not-loaded-yet",))["sites"] == []


def test_a_role_of_program_a_gets_the_pack_a_warehouse_of_a_alone_gives(two_programs, tmp_path):
    import json

    from peer_outcomes.dashboard.evidence import build_pack

    build_pack(two_programs.final, tmp_path / "role", PROGRAM_A)
    build_pack(two_programs.a_only, tmp_path / "alone", PROGRAM_A)
    files = sorted(p.relative_to(tmp_path / "role") for p in (tmp_path / "role").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "alone") for p in (tmp_path / "alone").rglob("*") if p.is_file())
    for csv in (f for f in files if f.suffix == ".csv"):
        assert (tmp_path / "role" / csv).read_text() == (tmp_path / "alone" / csv).read_text(), csv
    assert _pdf_lines(tmp_path / "role" / "report.pdf") == _pdf_lines(tmp_path / "alone" / "report.pdf")
    data = json.loads((tmp_path / "role" / "manifest.json").read_text())["data"]
    assert [p["program"] for p in data["programs"]] == ["a"]
    assert data["load_batches"] and all(b["batch_id"] for b in data["load_batches"])
    alone = json.loads((tmp_path / "alone" / "manifest.json").read_text())["data"]
    assert {b["sha256"] for b in data["load_batches"]} == {b["sha256"] for b in alone["load_batches"]}
