"""The evidence pack, opened as a reader would: PNGs decode at print size, SVGs parse, the PDF has its pages
and words, CSVs show no count of 1–10 and no pseudonym, and the manifest's hashes match the files and the
warehouse's load batches (real synthetic warehouse, real kaleido/chromium, real fpdf2 output)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd
import pytest
from PIL import Image
from pypdf import PdfReader

from peer_outcomes.analysis import disclosure, published
from peer_outcomes.analysis.queries import Filters
from peer_outcomes.dashboard.evidence import PNG_SCALE, WIDTH, build_pack, pack_zip_bytes
from peer_outcomes.pipelines.warehouse import query as warehouse

CHARTS = ["retention_curve", "relapse_free_curve", "competing_risks", "relapse_cox", "milestones",
          "participants_served", "sessions_by_format",
          "goals_met", "referral_linkage", "check_ins_relapse", "supervision_coverage", "incident_rates"]  # fmt: skip
COUNT_COLUMNS = re.compile(r"^(n|events|n_.*|day_\d+)$")


@pytest.fixture(scope="module")
def pack(synth_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("evidence") / "pack"
    build_pack(synth_warehouse, out, Filters())
    return out


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


@pytest.mark.parametrize("stem", CHARTS)
def test_every_key_chart_is_a_print_resolution_png_and_a_parseable_svg(pack: Path, stem: str) -> None:
    svg = ElementTree.parse(pack / "charts" / f"{stem}.svg").getroot()
    assert svg.tag.endswith("svg")
    w, h = int(float(svg.get("width"))), int(float(svg.get("height")))
    assert w == WIDTH and h >= 300
    assert png_size(pack / "charts" / f"{stem}.png") == (w * PNG_SCALE, h * PNG_SCALE)
    with Image.open(pack / "charts" / f"{stem}.png") as img:
        img.load()  # decodes every row: a truncated file fails here
        assert len(img.convert("L").getcolors(maxcolors=1 << 16) or []) > 10  # drawn, not a blank canvas


def test_report_has_its_pages_sections_and_one_image_per_chart(pack: Path, synth_warehouse: Path) -> None:
    reader = PdfReader(pack / "report.pdf")
    manifest = json.loads((pack / "manifest.json").read_text())
    assert len(reader.pages) == manifest["report_pages"]
    assert 4 <= len(reader.pages) <= 10
    text = "\n".join(p.extract_text() for p in reader.pages)
    for words in ["Key findings", "Headline numbers", "Methods", "Limitations", "95% CI", "Efron",
                  "Kaplan–Meier", "< 11", "observational", "Figure 7."]:  # fmt: skip
        assert words in text, words
    (n,) = warehouse(synth_warehouse, "select count(*) from marts.participant_outcomes where site in "
                     "(select site from marts.participant_outcomes group by 1 having count(*) >= 11)").iloc[0]
    assert f"N = {n:,} participants" in text  # the base population: the 8-person site is in no figure
    assert sum(len(p.images) for p in reader.pages) == len(CHARTS)


def test_pdf_pages_render_with_poppler(pack: Path, tmp_path: Path) -> None:
    subprocess.run(["pdftoppm", "-r", "30", "-png", pack / "report.pdf", tmp_path / "page"], check=True, timeout=60)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == len(PdfReader(pack / "report.pdf").pages)


def test_csvs_show_no_count_between_1_and_10_and_no_pseudonym(pack: Path, synth_warehouse: Path) -> None:
    pids = set(warehouse(synth_warehouse, "select participant_pid as v from participants union all "
                                          "select mentor_pid from mentors")["v"])  # fmt: skip
    csvs = sorted((pack / "data").glob("*.csv"))
    assert len(csvs) >= len(CHARTS)
    checked = 0
    for path in csvs:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert not set(frame.to_numpy().ravel()) & pids, path.name
        for column in [c for c in frame.columns if COUNT_COLUMNS.match(c)]:
            values = pd.to_numeric(frame[column], errors="coerce")
            small = values[(values >= 1) & (values <= 10)]
            assert small.empty, f"{path.name}.{column} shows {small.tolist()}"
            checked += values.notna().sum()
    assert checked > 20  # the rule was actually exercised on real counts


def test_the_matched_share_says_whom_it_counts_in_headline_csv_and_pdf(pack: Path, synth_warehouse: Path) -> None:
    tiles = published.headline(synth_warehouse, Filters()).frames["tiles"].set_index("key")
    measure = f"Matched with a mentor (of about {tiles['n']['matched']:,.0f} people in the peer mentoring track)"
    headline = pd.read_csv(pack / "data" / "headline.csv").set_index("measure")
    assert headline.loc[measure, "estimate"] == f"{100 * tiles['value']['matched']:.0f}%"
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(pack / "report.pdf").pages)
    assert f"{measure} {100 * tiles['value']['matched']:.0f}%" in text


def test_reached_90_days_sober_has_the_pages_ci_and_says_once_where_it_counts_from(pack: Path, synth_warehouse: Path) -> None:
    from peer_outcomes.dashboard import words

    att = published.milestones(synth_warehouse, Filters()).frames["attainment"].set_index("milestone_days")
    share, lo, hi = (f"{100 * att.loc[90, c]:.0f}%" for c in ("share", "share_lower_95", "share_upper_95"))
    headline = pd.read_csv(pack / "data" / "headline.csv").set_index("measure")
    assert headline.loc["Reached 90 days sober", "estimate"] == share
    assert headline.loc["Reached 90 days sober", "ci_95"] == f"{lo} to {hi}"
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(pack / "report.pdf").pages)
    assert f"Reached 90 days sober {share} {lo} to {hi}" in text
    assert text.count(" ".join(words.MILESTONES_START.split())) == 1


def test_the_key_findings_compare_the_tracks_in_a_funders_words(pack: Path, synth_warehouse: Path) -> None:
    forest = published.relapse_cox(synth_warehouse, Filters()).frames["forest"].set_index("term")
    hr, lo, hi = forest.loc["program_track[T.usual_care]", ["hr", "hr_lower_95", "hr_upper_95"]]
    assert lo > 1  # the synthetic program's peer track relapses less (docs/synthetic.md): a clear difference
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(pack / "report.pdf").pages)
    assert (f"People in usual care relapsed sooner than people with a peer mentor (hazard ratio {hr:.2f}, 95% CI "
            f"{lo:.2f}–{hi:.2f}); this is an association, not proof of cause.") in text  # fmt: skip
    assert "relapse hazard was" not in text


def test_statistical_references_are_in_the_methods_section_only(pack: Path) -> None:
    from statistical_references import REFERENCES

    text = "\n".join(page.extract_text() for page in PdfReader(pack / "report.pdf").pages)
    before, methods = (" ".join(part.split()) for part in text.split("\nMethods\n", 1))
    assert not REFERENCES.findall(before)  # findings, headline table, notes and chart captions
    assert "as R survfit" in methods and "as R coxph" in methods and "Efron ties" in methods


def test_csvs_are_the_dashboards_suppressed_frames(pack: Path, synth_warehouse: Path) -> None:
    from peer_outcomes.dashboard.figures import shown

    expected = shown(published.retention(synth_warehouse, Filters()), "rates")
    got = pd.read_csv(pack / "data" / "retention_rates.csv")
    pd.testing.assert_frame_equal(got, pd.read_csv(io.StringIO(disclosure.csv_text(expected))))
    assert {"survival_status", "lower_95_status", "upper_95_status"} <= set(got.columns)  # why a cell is empty
    events = pd.read_csv(pack / "data" / "competing_events.csv", dtype=str)
    assert all(v == "< 11" or re.fullmatch(r"\d+", v) for v in events["n"])  # counts as 19, hidden as "< 11"


def test_manifest_hashes_match_the_files_and_the_warehouse_load_batches(pack: Path, synth_warehouse: Path) -> None:
    manifest = json.loads((pack / "manifest.json").read_text())
    on_disk = {p.relative_to(pack).as_posix() for p in pack.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(manifest["files"]) == on_disk
    for name, entry in manifest["files"].items():
        assert hashlib.sha256((pack / name).read_bytes()).hexdigest() == entry["sha256"], name
    batches = warehouse(synth_warehouse, "select file_name, sha256 from load_batches")
    assert {(b["file_name"], b["sha256"]) for b in manifest["data"]["load_batches"]} == set(
        zip(batches["file_name"], batches["sha256"], strict=True))
    (version,) = warehouse(synth_warehouse, "select data_version from settings").iloc[0]
    assert manifest["data"]["data_version"] == version
    assert manifest["code"]["version"] and manifest["parameters"]["min_cell"] >= 11


def test_a_filtered_pack_records_its_parameters(synth_warehouse: Path, tmp_path: Path) -> None:
    site = warehouse(synth_warehouse, "select site from participants group by site order by count(*) desc")["site"][0]
    manifest = build_pack(synth_warehouse, tmp_path / "p", Filters(sites=(site,)))
    assert manifest["parameters"]["sites"] == [site]
    assert f"sites {site}" in PdfReader(tmp_path / "p" / "report.pdf").pages[0].extract_text()


def test_the_one_click_zip_holds_the_whole_pack(synth_warehouse: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(pack_zip_bytes(synth_warehouse, Filters()))) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("manifest.json"))
        assert names == set(manifest["files"]) | {"manifest.json"}
        assert hashlib.sha256(z.read("report.pdf")).hexdigest() == manifest["files"]["report.pdf"]["sha256"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2024-13-01"], "Error: --from must be a date written YYYY-MM-DD, e.g. 2025-01-31."),
        (["--sites", "NOPE"], "Error: Unknown site code(s) NOPE; the warehouse has"),
    ],
)
def test_evidence_cli_mistakes_end_with_one_sentence(synth_warehouse: Path, tmp_path: Path, args, message) -> None:
    cli = Path(sys.executable).parent / "peer-outcomes"
    run = subprocess.run([cli, "evidence", "--out", tmp_path / "p", "--db", synth_warehouse, *args],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 1
    assert " ".join(run.stderr.split()).startswith(message)
    assert "Traceback" not in run.stderr


def test_a_selection_of_fewer_than_11_people_publishes_nothing(
    synth_warehouse: Path, synth_export: Path, tmp_path: Path
) -> None:
    small = json.loads((synth_export / "truth.json").read_text())["small_site"]
    (n,) = warehouse(synth_warehouse, f"select count(*) from participants where site = '{small}'").iloc[0]
    assert 1 <= n < 11
    cli = Path(sys.executable).parent / "peer-outcomes"
    run = subprocess.run([cli, "evidence", "--out", tmp_path / "p", "--db", synth_warehouse, "--sites", small],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 1
    assert " ".join(run.stderr.split()) == (
        "Error: Fewer than 11 participants match these filters, so there is nothing to publish.")
    assert not (tmp_path / "p").exists()


def test_evidence_page_offers_the_zip_download(synth_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PEER_OUTCOMES_DB", str(synth_warehouse))
    at = AppTest.from_file("../dashboard/app.py", default_timeout=120)
    at.run()
    at.switch_page("app_pages/evidence.py")
    at.run()
    assert not at.exception
    assert at.title[0].value == "Evidence pack"
    buttons = [e for e in at.get("download_button") if "evidence" in e.proto.label.lower()]
    assert len(buttons) == 1


@pytest.mark.parametrize("name", ["size_0", "size_5", "sites_60"])
def test_evidence_refuses_in_one_sentence_when_nothing_can_be_published(program, tmp_path: Path, name: str) -> None:
    # size_0: a header-only participants file (was a TypeError); size_5: no publishable enrollment period (was an
    # IndexError on the pages); sites_60 publishes, so it is the control that the refusal is not a blanket one
    cli = Path(sys.executable).parent / "peer-outcomes"
    run = subprocess.run([cli, "evidence", "--out", tmp_path / "p", "--db", program(name)],
                         capture_output=True, text=True, timeout=180)  # fmt: skip
    if name == "sites_60":
        assert run.returncode == 0, run.stderr
        return
    assert run.returncode == 1
    assert " ".join(run.stderr.split()) == (
        "Error: No site and track has 11 or more participants yet, so there is nothing to publish.")
    assert "Traceback" not in run.stderr + run.stdout
    assert not (tmp_path / "p").exists()


def test_a_pack_of_eleven_people_says_what_it_cannot_show_and_prints_no_none_or_nan(program, tmp_path: Path) -> None:
    build_pack(program("size_11"), tmp_path / "p", Filters())
    text = "\n".join(p.extract_text() for p in PdfReader(tmp_path / "p" / "report.pdf").pages)
    assert not re.search(r"\b(None|nan|NaN|NaT|inf)\b", text)
    assert "N = 11 participants" in text
    assert "Share reaching each sobriety milestone: not drawn, because every value is zero or describes fewer than 11" in " ".join(text.split())
    assert "Relapse model: not fitted: too few people or events in this selection to estimate." in " ".join(text.split())
    assert not (tmp_path / "p" / "charts" / "milestones.png").exists()  # no empty axis in the pack either
    for path in (tmp_path / "p" / "data").glob("*.csv"):
        cells = set(pd.read_csv(path, dtype=str, keep_default_na=False).to_numpy().ravel())
        assert not cells & {"None", "nan", "NaN", "<NA>"}, path.name


def test_the_report_shows_no_raw_code_or_column_name(program, tmp_path: Path) -> None:
    build_pack(program("one_site"), tmp_path / "p", Filters())  # two tracks, a fitted relapse model
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(tmp_path / "p" / "report.pdf").pages).split())
    codes = sorted(set(re.findall(r"\b[a-z]+(?:_[a-z0-9]+)+\b(?!\.\w)", text)))
    assert not codes, codes
    assert "usual care" in text or "peer mentoring" in text  # the tracks are named, in words


PRACTICE_CSVS = {  # file stem: (result, frame, share or rate, denominator)
    "practice_goals_met": ("practice", "goals", "share_met", "n_goals"),
    "practice_goals_first_30_days": ("practice", "goals_first", "share_with_goal", "n_followed"),
    "practice_referral_linkage": ("practice", "referrals", "share_connected", "n_referrals"),
    "practice_pathway": ("practice", "pathway", "share_mentoring", "n_completers"),
    "practice_check_ins_relapse": ("practice", "check_ins", "relapses_per_100_weeks", "person_weeks"),
    "practice_check_in_regularity": ("practice", "check_in_regularity", "share_reached", "person_weeks"),
    "practice_supervision": ("mentor_practice", "supervision", "share_supervised", "mentor_months"),
    "practice_graduate_mentors": ("mentor_practice", "graduates", "share_graduates", "n_mentors"),
    "practice_incident_rates": ("mentor_practice", "incidents", "incidents_per_100", "mentor_months"),
    "practice_incident_rates_by_site": ("mentor_practice", "incidents_by_site", "incidents_per_100", "mentor_months"),
}


def test_practice_csvs_are_the_published_frames_with_denominators_and_cis(pack: Path, synth_warehouse: Path) -> None:
    from peer_outcomes.analysis import published_practice
    from peer_outcomes.dashboard.figures import shown

    pubs = {"practice": published_practice.practice(synth_warehouse, Filters()),
            "mentor_practice": published_practice.mentor_practice(synth_warehouse)}  # fmt: skip
    for stem, (result, frame, value, denominator) in PRACTICE_CSVS.items():
        got = pd.read_csv(pack / "data" / f"{stem}.csv", dtype=str, keep_default_na=False)
        assert {value, denominator, f"{value}_lower_95", f"{value}_upper_95"} <= set(got.columns), stem
        expected = shown(pubs[result], frame)
        expected = pd.read_csv(io.StringIO(disclosure.csv_text(expected)), dtype=str, keep_default_na=False)
        pd.testing.assert_frame_equal(got, expected, obj=stem)
    incidents = pd.read_csv(pack / "data" / "practice_incident_rates_by_site.csv", dtype=str)
    counts = pd.to_numeric(incidents["n_incidents"], errors="coerce").dropna()
    assert ((counts == 0) | (counts >= disclosure.threshold())).all()


def test_the_report_has_the_practice_section_with_denominators(pack: Path, synth_warehouse: Path) -> None:
    from peer_outcomes.analysis import published_practice

    referrals = published_practice.practice(synth_warehouse, Filters()).frames["referrals"].set_index("resource_type")
    treatment = referrals.loc["all treatment"]
    headline = pd.read_csv(pack / "data" / "headline.csv").set_index("measure")
    row = headline.loc[f"Treatment referrals connected in 30 days (of about {treatment['n_referrals']:,.0f})"]
    assert row["estimate"] == f"{100 * treatment['share_connected']:.0f}%"
    assert row["ci_95"] == f"{100 * treatment['share_connected_lower_95']:.0f}% to {100 * treatment['share_connected_upper_95']:.0f}%"
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(pack / "report.pdf").pages).split())
    assert "Mentoring practice: Goals: share of goals set at least 180 days" in text
    assert "Incidents per 100 mentor-months (of" in text


def test_a_pack_without_the_practice_files_has_no_practice_section(program, tmp_path: Path) -> None:
    build_pack(program("sites_60_no_practice"), tmp_path / "p", Filters())
    assert not list((tmp_path / "p").rglob("practice_*")) and not (tmp_path / "p" / "charts" / "goals_met.png").exists()
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(tmp_path / "p" / "report.pdf").pages).split())
    assert "Mentoring practice" not in text and "Add goals.csv" not in text
