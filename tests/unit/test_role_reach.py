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
