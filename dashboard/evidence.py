"""The evidence pack: the key charts (PNG for print, SVG), the numbers behind them (CSV), a short PDF report
and a manifest with the data version, code version, parameters and a sha256 of every file.

Policy: the pack holds published aggregates only. Every frame comes from `analysis.published` (already
suppressed, the same functions the dashboard pages call) and every figure from `dashboard.figures` (the
same definitions: title, axes, hidden columns); hidden cells are spelled "< k" by `analysis.disclosure.label`, exactly as the dashboard's
CSV downloads. Nothing here suppresses, computes an estimate or draws a chart of its own.
Speed: images are rendered in one browser for the whole pack (`render.Painter`: no page reload between
images), started first so the browser boots while Python computes, and
rendering while Python builds the next chart; the results are computed two at a time ahead of the charts
(`COMPUTE_THREADS`: DuckDB and numpy release the GIL), the slowest first, each thread's reads sharing one
read-only connection (`warehouse.reading`), and each result's charts are made as soon as it is ready; fpdf2 is
imported on a worker as the pack starts. The PNGs are rendered first: the PDF, which needs only them, is
written while the browser draws the SVGs. `benchmarks/bench_evidence.py` times
it against older code in the same run; `benchmarks/same_pack.py` checks that the pack did not change.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from importlib import metadata
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go

from peer_outcomes.analysis import disclosure, published, published_practice, queries
from peer_outcomes.analysis.published import Published
from peer_outcomes.analysis.queries import Filters
from peer_outcomes.dashboard import charts, figures, figures_practice, pack_check
from peer_outcomes.dashboard.evidence_text import findings, headline_rows, limitations, methods
from peer_outcomes.dashboard.render import Painter
from peer_outcomes.dashboard.report_pdf import Chart, Report, image_cache, load_fpdf, preload, write_report
from peer_outcomes.pipelines import warehouse
from peer_outcomes.pipelines.errors import UserError

if TYPE_CHECKING:
    from fpdf.image_datastructures import ImageCache

REPO = Path(__file__).resolve().parents[1]
WIDTH = 1000  # px of the SVG; the PNG is rendered at scale 2 (2000 px wide, print quality at ~17 cm)
PNG_SCALE = 2


@dataclass
class Item:
    """One chart of the pack, the result it draws, and the CSVs of the numbers behind it (file stem: frame)."""

    figure: figures.Figure
    pub: Published
    csvs: dict[str, str]

    def build(self) -> go.Figure:
        return self.figure.draw(self.pub)


@dataclass
class Results:
    """The published results the pack is made of, keyed by short names, plus privacy notes."""

    pubs: dict[str, Published]
    notes: list[str] = field(default_factory=list)


def parse_filters(
    date_from: str | None,
    date_to: str | None,
    sites: list[str] | None,
    tracks: list[str] | None = None,
    programs: list[str] | None = None,
) -> Filters:
    """Filters from command-line text; a malformed date ends as one sentence (`pack_check.period`)."""
    lo, hi = pack_check.period(date_from, date_to)
    return Filters(
        lo, hi, tuple(sorted(set(sites or []))), tuple(sorted(set(tracks or []))), programs=tuple(sorted(set(programs or [])))
    )


def _check_filters(db: Path, f: Filters) -> dict:
    """The codes `f` asks for are in the warehouse within the role's reach; the reach's filter options."""
    where, params = Filters(all_groups=True, allowed_sites=f.allowed_sites, allowed_programs=f.allowed_programs).where()
    pack_check.check_codes({"site": f.sites, "track": f.tracks, "program": f.programs}, pack_check.codes(db, where, params))
    return queries.filter_options(db, f.allowed_sites, f.allowed_programs)


# The curves compared by program (issue 17), as the pages' "Compare by: Program" draws them: in the pack when
# two or more programs the role may see are in the selection (`compares_programs`).
BY_PROGRAM: dict[str, tuple[Callable[[Path, Filters], Published], str]] = {
    "retention_by_program": (partial(published.retention, by="program"), "The retention curves by program"),
    "relapse_free_by_program": (partial(published.relapse_free, by="program"), "The relapse-free curves by program"),
    "competing_by_program": (partial(published.competing_risks, by="program"), "The competing-outcomes curves by program"),
}


def compares_programs(f: Filters, offered: list[str]) -> bool:
    """Whether the pack compares by program: two or more of the programs offered to the role (published
    `filter_options`: each of at least k people) are in the selection."""
    return len(set(f.programs or offered) & set(offered)) > 1


SLOWEST = ("cox",)  # the result that takes longest (the relapse Cox model: 4 of 12 compute seconds at 100,000
# people), started first so that it is not the last to finish while the charts wait for it
COMPUTE_THREADS = 2  # results computed at once: DuckDB and numpy release the GIL, so one result's queries
# overlap another's Python and the charts being drawn (two: the machine this is measured on has two cores)


def compute(
    db: Path, f: Filters, then: Callable[[Results, str], None] | None = None, by_program: bool | None = None
) -> Results:
    """Every published result the pack shows, in report order; a result that cannot be computed becomes a note.

    The results are computed ahead on `COMPUTE_THREADS` threads and handed over as each is ready, the headline
    first: `then(results, key)` runs (on this thread) as each arrives, so the pack draws its charts meanwhile,
    rather than wait behind a slower result that comes earlier in the report (the relapse model). The results
    and their notes are in report order once all are in.
    `by_program`: also the curves compared by program (`BY_PROGRAM`; by default when `compares_programs`).
    """
    if by_program is None:
        by_program = compares_programs(f, published.filter_options(db, f.allowed_sites, f.allowed_programs)["programs"])
    calls: dict[str, tuple[Callable[[Path, Filters], Published], str | None]] = {
        "headline": (published.headline, "The headline numbers"),
        "retention": (published.retention, "The retention curve"),
        "relapse_free": (published.relapse_free, "The relapse-free curve"),
        "competing": (published.competing_risks, "The competing-outcomes curves"),
        **(BY_PROGRAM if by_program else {}),
        "cox": (published.relapse_cox, "The relapse model (Cox)"),
        "milestones": (published.milestones, "Milestone attainment"),
        "served": (published.participants_served, "Participants served"),
    }
    if published_practice.has_practice(db):  # the mentoring-practice section, when the export has its files
        calls["practice"] = (published_practice.practice, None)
        # all mentors' figures span every site and program: refused to a role limited to some sites, as on the
        # page, and left out when the pack is for some programs only
        if not f.allowed_sites and not f.allowed_programs and not f.programs:
            calls["mentor_practice"] = (lambda db, _f: published_practice.mentor_practice(db), None)
    res = Results({})
    then = then or (lambda _res, _key: None)
    pool = ThreadPoolExecutor(max_workers=COMPUTE_THREADS, thread_name_prefix="pack-compute")
    try:
        first = sorted(calls, key=lambda k: k not in SLOWEST)  # the longest starts at once; the rest in report order
        started = {key: pool.submit(_published, db, f, *calls[key]) for key in first}
        key_of = {future: key for key, future in started.items()}
        rest = as_completed([started[k] for k in calls if k != "headline"])
        for key in chain(["headline"], (key_of[future] for future in rest)):  # the headline first: it may refuse the pack
            res.pubs[key] = started[key].result()
            then(res, key)
    finally:  # a refusal (or a bug) stops the results not yet started
        pool.shutdown(wait=True, cancel_futures=True)
    res.pubs = {key: res.pubs[key] for key in calls}
    for key, pub in res.pubs.items():
        if key not in ("practice", "mentor_practice"):
            res.notes += [n for n in pub.notes if n not in res.notes]
    if "practice" in res.pubs:
        for note in [*res.pubs["practice"].notes, *published_practice.missing_files(db).values()]:
            res.notes += [note] if note not in res.notes else []
    return res


def _published(db: Path, f: Filters, fn: Callable[[Path, Filters], Published], what: str | None) -> Published:
    """One published result, on a worker thread with a read connection of its own (one snapshot per thread);
    a result named by `what` that cannot be computed (e.g. no relapse events in a small selection) becomes a
    Published that says so in a note."""
    with warehouse.reading(db):
        try:
            return fn(db, f)
        except UserError as exc:
            if what is None:
                raise
            return Published({}, "", "", float("nan"), [f"{what} could not be computed for this selection: {exc}"])


# The pack's charts in report order: (result, figure, CSV file stem -> published frame it holds).
PACK: tuple[tuple[str, figures.Figure, dict[str, str]], ...] = (
    ("retention", figures.RETENTION, {"retention_curve": "curve", "retention_rates": "rates",
                                      "retention_at_risk": "at_risk", "retention_medians": "summary"}),
    ("relapse_free", figures.RELAPSE_FREE, {"relapse_free_curve": "curve", "relapse_free_rates": "rates",
                                            "relapse_free_at_risk": "at_risk", "relapse_free_medians": "summary"}),
    ("competing", figures.COMPETING, {"competing_risks": "cif", "competing_events": "events"}),
    # compared by program (issue 17), when the selection holds two or more programs the role may see
    ("retention_by_program", figures.RETENTION_BY_PROGRAM,
     {"retention_by_program_curve": "curve", "retention_by_program_rates": "rates",
      "retention_by_program_at_risk": "at_risk", "retention_by_program_medians": "summary"}),
    ("relapse_free_by_program", figures.RELAPSE_FREE_BY_PROGRAM,
     {"relapse_free_by_program_curve": "curve", "relapse_free_by_program_rates": "rates",
      "relapse_free_by_program_at_risk": "at_risk", "relapse_free_by_program_medians": "summary"}),
    ("competing_by_program", figures.COMPETING_BY_PROGRAM,
     {"competing_risks_by_program": "cif", "competing_events_by_program": "events"}),
    ("cox", figures.RELAPSE_COX, {"relapse_cox": "forest", "relapse_cox_ph_test": "ph_test"}),
    ("milestones", figures.MILESTONES, {"milestones": "attainment"}),
    ("served", figures.ENROLLED, {"participants_served": "enrolled"}),
    ("served", figures.SESSIONS, {"sessions_by_format": "sessions"}),
    # mentoring practice (issue 15): every share and rate with its denominator and 95% CI
    ("practice", figures_practice.GOALS, {"practice_goals_met": "goals", "practice_goals_first_30_days": "goals_first"}),
    ("practice", figures_practice.REFERRALS, {"practice_referral_linkage": "referrals", "practice_pathway": "pathway"}),
    ("practice", figures_practice.CHECK_INS, {"practice_check_ins_relapse": "check_ins",
                                              "practice_check_in_regularity": "check_in_regularity"}),
    ("mentor_practice", figures_practice.SUPERVISION, {"practice_supervision": "supervision",
                                                       "practice_graduate_mentors": "graduates"}),
    ("mentor_practice", figures_practice.INCIDENTS, {"practice_incident_rates": "incidents",
                                                     "practice_incident_rates_by_site": "incidents_by_site"}),
)  # fmt: skip


PLACE = {(key, figure.name): i for i, (key, figure, _) in enumerate(PACK)}  # a chart's place in the report


def items(r: Results, key: str | None = None) -> list[Item]:
    """The pack's charts (of result `key`, or all), in report order; one whose result or any of its frames is
    empty is left out, and so is a comparison by program that shows fewer than two programs."""
    out = []
    for k, figure, csvs in PACK:
        pub = r.pubs.get(k)  # the practice results are there only when the export has practice files
        if (key in (None, k) and pub is not None and not pub.empty
                and all(len(pub.frames.get(frame, ())) for frame in csvs.values())
                and (k not in BY_PROGRAM or figure.data(pub)["group"].nunique() > 1)):  # fmt: skip
            out.append(Item(figure, pub, csvs))
    return out


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def code_version() -> dict:
    """Package version, and the git commit (with a dirty flag) when run from a checkout."""
    out: dict = {"package": "peer-outcomes", "version": metadata.version("peer-outcomes"), "git_commit": None,
                 "git_dirty": None}  # fmt: skip
    try:
        git = ["git", "-C", str(REPO)]
        out["git_commit"] = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                                           check=True, timeout=10).stdout.strip()  # fmt: skip
        status = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                                text=True, check=True, timeout=10).stdout  # fmt: skip
        out["git_dirty"] = bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def data_version(db: Path, allowed_programs: tuple[str, ...] = ()) -> dict:
    """The warehouse's data version and the file hashes of every load batch (lineage, no rows), of the
    `allowed_programs` a role may see (all when empty)."""
    s = queries.settings(db)
    # hashes, no row counts: everyone loaded minus the published N would size the groups left out
    batches = warehouse.query(db, "select batch_id, entity, file_name, sha256, status, finished_at from load_batches "
                                  "where len(?::varchar[]) = 0 or list_contains(?::varchar[], program) "
                                  "order by started_at, entity", [list(allowed_programs)] * 2)  # fmt: skip
    batches["finished_at"] = batches["finished_at"].astype(str)
    programs = [{"program": p, "name": n, "as_of": pd.Timestamp(a).date().isoformat(), "gap_days": int(g)}  # its own
                for p, n, a, g in queries.programs(db).itertuples(index=False)
                if not allowed_programs or p in allowed_programs]  # fmt: skip
    return {"data_version": s.get("data_version"), "as_of": pd.Timestamp(s.get("as_of")).date().isoformat(), "gap_days": int(s.get("gap_days")),
            "programs": programs, "load_batches": batches.to_dict(orient="records")}  # fmt: skip


def _prepare(out: Path) -> None:
    """Create `out`, or clear the files a previous pack listed in its manifest (`pack_check.check_folder` has
    refused a foreign folder)."""
    out.mkdir(parents=True, exist_ok=True)
    old = out / "manifest.json"
    if old.exists():
        for name in json.loads(old.read_text()).get("files", {}):
            (out / name).unlink(missing_ok=True)
        old.unlink()
    for sub in ("charts", "data"):
        (out / sub).mkdir(exist_ok=True)


def build_pack(
    db: Path, out: Path, f: Filters, progress: bool = False, zip_path: Path | None = None,
    painter: Painter | None = None,
) -> dict:
    """Write the evidence pack for warehouse `db` and population `f` into `out`; returns the manifest.

    `painter`: a browser already started by the caller (the command starts one before its imports); else one
    is started here and closed after. Either way its browser starts closing once the pack's images are drawn.
    """
    db = Path(db)
    out = Path(out)
    pack_check.check_folder(out)
    with nullcontext(painter) if painter else Painter() as own, warehouse.reading(db):  # one connection for ~70 reads
        return _build_pack(db, out, f, progress, zip_path, own)


def _build_pack(db: Path, out: Path, f: Filters, progress: bool, zip_path: Path | None, painter: Painter) -> dict:
    settings = queries.settings(db)  # fails first, in one sentence, if there is no warehouse
    offered = published.filter_options(db, f.allowed_sites, f.allowed_programs)
    if not offered["sites"]:  # e.g. a new program, or every site and track still small
        raise UserError(f"No site and track has {disclosure.threshold()} or more participants yet, so there is nothing to publish.")
    opts = _check_filters(db, f)
    bar = _progress() if progress else nullcontext()
    with bar as prog:
        task = prog.add_task("computing published results", total=len(PACK) + 4) if prog else None

        def tick(what: str) -> None:
            if prog:
                prog.update(task, advance=1, description=what)

        charts_ = _Charts(out, painter, tick)
        with charts_.loader:
            res = compute(db, f, then=charts_.add, by_program=compares_programs(f, offered["programs"]))
            res.notes += [charts_.not_drawn[i] for i in sorted(charts_.not_drawn)]  # in report order
            charts_.draw_svgs()  # after every PNG: the PDF, which needs the PNGs only, is written meanwhile
            return _write_pack(db, out, f, res, settings, opts, charts_, zip_path, tick, prog)


def _pdf_library() -> ImageCache:
    load_fpdf()
    return image_cache()


@dataclass
class _Charts:
    """Each result's CSVs and charts as it arrives: the browser renders while the next result is computed."""

    out: Path
    painter: Painter
    tick: Callable[[str], None]
    pdf: dict[int, Chart] = field(default_factory=dict)  # by place in PACK: the results arrive in any order
    renders: list[Future[None]] = field(default_factory=list)
    svgs: list[tuple[dict, Path, int]] = field(default_factory=list)  # drawn once every PNG is (`draw_svgs`)
    loader: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=1))  # in chart order
    not_drawn: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._images = self.loader.submit(_pdf_library)  # first on the loader: imports while DuckDB computes

    @property
    def images(self) -> ImageCache:
        """The PNGs decoded for the PDF as they arrive (one cache, made on the loader thread)."""
        return self._images.result()

    def add(self, res: Results, key: str) -> None:
        if key == "headline":
            if res.pubs["headline"].empty:
                raise UserError(disclosure.too_few_sentence(then="so there is nothing to publish"))
            _prepare(self.out)  # only now: a pack that cannot be made leaves the folder as it was
            return
        for it in items(res, key):
            place = PLACE[key, it.figure.name]
            for name, frame in it.csvs.items():
                csv = disclosure.csv_text(figures.shown(it.pub, frame))
                (self.out / "data" / f"{name}.csv").write_text(csv)
            fig = it.build()
            self.tick(f"chart {it.figure.name}")
            if not charts.has_values(fig):  # an empty axis in a report says nothing: say why instead
                self.not_drawn[place] = (f"{it.figure.title}: not drawn, because every value is zero or describes "
                                         f"fewer than {disclosure.threshold()} people.")  # fmt: skip
                continue
            height = int(fig.layout.height or 440)
            png, svg = self.out / "charts" / f"{it.figure.name}.png", self.out / "charts" / f"{it.figure.name}.svg"
            spec = fig.to_dict()  # once for both formats
            drawn = self.painter.render(spec, png, "png", WIDTH, height, PNG_SCALE)
            ready = self.loader.submit(self._preload, drawn, png)
            self.renders += [drawn, ready]
            self.svgs.append((spec, svg, height))
            self.pdf[place] = Chart(it.figure.title, png, WIDTH, height, it.figure.note, ready=ready)

    def _preload(self, drawn: Future[None], png: Path) -> None:
        drawn.result()  # the PNG is written
        preload(self.images, png)

    def draw_svgs(self) -> None:
        """Queue the SVGs behind the PNGs in the browser, and start closing it once the last image is drawn
        (its shutdown overlaps the rest of the pack)."""
        svgs = [self.painter.render(spec, path, "svg", WIDTH, height) for spec, path, height in self.svgs]
        self.renders += svgs
        left = [len(svgs)]

        def one_done(_: Future[None]) -> None:
            left[0] -= 1  # on the painter's one thread
            if not left[0]:
                self.painter.finish()

        for svg in svgs:
            svg.add_done_callback(one_done)
        if not svgs:
            self.painter.finish()

    def wait(self) -> None:
        """Every image written (a failed render raises here)."""
        for image in self.renders:
            image.result()


def _write_pack(
    db: Path, out: Path, f: Filters, res: Results, settings: dict, opts: dict, charts_: _Charts,
    zip_path: Path | None, tick: Callable[[str], None], prog,  # noqa: ANN001 - a rich Progress or None
) -> dict:
    """The headline CSV, the PDF report, the README and the manifest, once every chart is rendered."""
    rows = headline_rows(res.pubs)
    headline = pd.DataFrame(rows, columns=["measure", "estimate", "ci_95"])
    (out / "data" / "headline.csv").write_text(disclosure.csv_text(headline))
    tracks = [t for t in (f.tracks or opts["tracks"]) if t != "none"]
    report = Report(
        title="Peer mentoring outcomes: evidence pack",
        population=res.pubs["headline"].population,
        findings=findings(res.pubs), headline=rows, charts=[charts_.pdf[i] for i in sorted(charts_.pdf)],
        methods=methods(res.pubs, {**settings, "as_of": published.cutoff(db, f), "gap": published.gap_text(db, f)}, _period(f, opts)), limitations=limitations(res.pubs, tracks),
        footer=f"peer-outcomes · data version {str(settings.get('data_version'))[:12]} · "
               f"generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        notes=res.notes,
    )  # fmt: skip
    pages = write_report(report, out / "report.pdf", charts_.images)  # waits for each chart's PNG as it gets to it
    tick("wrote report.pdf")
    charts_.wait()  # the SVGs, drawn while the PDF was written
    (out / "README.md").write_text(_readme(pages))
    manifest = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code": code_version(),
        "data": data_version(db, f.allowed_programs),
        "parameters": {
            "enrolled_from": f.enrolled_from.isoformat() if f.enrolled_from else None,
            "enrolled_to": f.enrolled_to.isoformat() if f.enrolled_to else None,
            "sites": list(f.sites), "tracks": list(f.tracks), "programs": list(f.programs),
            "population": f.describe(),
            "min_cell": disclosure.threshold(), "png_scale": PNG_SCALE, "svg_width_px": WIDTH,
        },
        "report_pages": pages,
        "files": {p.relative_to(out).as_posix(): {"sha256": sha256(p), "bytes": p.stat().st_size}
                  for p in sorted(out.rglob("*")) if p.is_file()},
    }  # fmt: skip
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    tick("wrote manifest.json")
    if zip_path:
        write_zip(out, Path(zip_path))
    if prog:
        prog.update(prog.tasks[0].id, completed=prog.tasks[0].total, description="done")
    return manifest


def _period(f: Filters, opts: dict) -> tuple[date, date]:
    """The enrollment period the pack describes: the filter, within the warehouse's first and last enrollment."""
    first, last = pd.Timestamp(opts["first_on"]).date(), pd.Timestamp(opts["last_on"]).date()
    return max(first, f.enrolled_from or first), min(last, f.enrolled_to or last)


def write_zip(folder: Path, target: Path | io.BytesIO) -> None:
    """The pack as one ZIP file or buffer (paths relative to the pack folder, manifest included)."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                z.write(p, p.relative_to(folder).as_posix())


def pack_zip_bytes(db: Path, f: Filters) -> bytes:
    """The whole pack as ZIP bytes, built in a temporary folder (the dashboard's one-click download)."""
    with tempfile.TemporaryDirectory(prefix="evidence-") as tmp:
        folder = Path(tmp) / "pack"
        build_pack(db, folder, f)
        buf = io.BytesIO()
        write_zip(folder, buf)
        return buf.getvalue()


def _progress():
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description:<34}"), BarColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=not os.isatty(2))  # fmt: skip


def _readme(pages: int) -> str:
    return f"""# Evidence pack (peer-outcomes)

- `report.pdf` — {pages} pages: key findings, headline numbers with 95% CIs, the charts, methods, limitations.
- `charts/*.png` (print resolution, {WIDTH * PNG_SCALE} px wide) and `charts/*.svg` — the key charts.
- `data/*.csv` — the numbers behind every chart, suppressed as on the dashboard: "{disclosure.mask_text()}" marks a
  hidden count or rate; an empty cell is a value that cannot be estimated (e.g. a median not yet reached).
- `manifest.json` — data version and load-batch file hashes, code version, parameters, and the sha256 of
  every file here. Verify with `sha256sum` or see docs/evidence.md.
"""
