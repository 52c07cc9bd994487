"""The `peer-outcomes` command: wires every layer (synth, etl, spark, status, dashboard, evidence, extract,
audit, doctor).

Each subcommand is a few lines: help text with an example, and user errors as one plain sentence with a
non-zero exit (`main` turns a `UserError` into that; nothing else is caught, so bugs still show).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from peer_outcomes.pipelines import config
from peer_outcomes.pipelines.errors import UserError

app = typer.Typer(
    help="Outcomes analytics for peer-mentoring programs: load an export, analyse, serve the dashboard.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)


def _warehouse(path: Path | None) -> Path:
    """The warehouse a command uses: `--db`, else `$PEER_OUTCOMES_DB`, else data/warehouse.duckdb."""
    return path or config.DEFAULT_DB


# Options several commands share, declared once.
Db = Annotated[
    Path,
    typer.Option("--db", help="Warehouse file (default: $PEER_OUTCOMES_DB, else data/warehouse.duckdb).",
                 callback=_warehouse, show_default=False),
]  # fmt: skip


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="Folder for the export (created; files replaced).")],
    participants: Annotated[int, typer.Option("--participants", help="Number of participants.")] = 3000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same files.")] = 7,
    messy: Annotated[bool, typer.Option("--messy", help="Plant realistic faults (see truth.json).")] = False,
    fmt: Annotated[
        str, typer.Option("--format", help="csv (in memory, up to 2M) or parquet (in blocks, up to 10M).")
    ] = "csv",
) -> None:
    """Write a synthetic program export with known true effects (contract CSVs + truth.json).

    Example: peer-outcomes synth --participants 3000 --seed 7 --out data/export
    Example: peer-outcomes synth --participants 10000000 --format parquet --out /data/export-10m
    """
    from peer_outcomes.pipelines.synth import SynthError, generate

    if fmt not in ("csv", "parquet"):
        raise SynthError("--format must be csv or parquet.")
    if fmt == "parquet" and messy:
        raise SynthError("--messy writes CSV only; leave out --format parquet.")
    if fmt == "parquet":
        from peer_outcomes.pipelines.synth_parquet import generate_parquet

        truth = generate_parquet(out, participants=participants, seed=seed)
    else:
        truth = generate(out, participants=participants, seed=seed, messy=messy)
    for name, rows in truth.get("rows_written", truth["rows"]).items():
        typer.echo(f"{name:20} {rows:>10,} rows")
    typer.echo(f"Wrote a synthetic export of {participants:,} participants (seed {seed}) to {out}; see truth.json.")


@app.command()
def etl(
    export_dir: Annotated[Path, typer.Argument(help="Folder holding participants.csv (.xlsx, .parquet) and the rest.")],
    db: Db = None,
    mapping: Annotated[Path | None, typer.Option("--mapping", help="mapping.yaml (default: the one in EXPORT_DIR).")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Data cutoff YYYY-MM-DD (default: latest date in the export).")] = None,
    gap_days: Annotated[int, typer.Option("--gap-days", help="Days without an attended session that mean disengaged.")] = config.GAP_DAYS,
    program: Annotated[str | None, typer.Option("--program", help="Program code the export loads under (default: the mapping's program:, else the one program).")] = None,
) -> None:
    """Load an export into the warehouse: validate, pseudonymize, quarantine bad rows, rebuild the marts.

    Example: peer-outcomes etl data/export --db data/warehouse.duckdb --as-of 2025-06-30
    A second program: peer-outcomes etl data/riverside --db data/warehouse.duckdb --program riverside
    """
    import datetime as dt

    from rich.table import Table

    from peer_outcomes.pipelines.etl import run_etl

    try:
        cutoff = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise UserError(f"--as-of must be a date like 2025-06-30, not '{as_of}'.") from None
    report = run_etl(
        export_dir, db, mapping=mapping, as_of=cutoff, gap_days=gap_days, progress=True, program=program
    )
    table = Table("file", "read", "loaded", "quarantined", "dropped columns", title=f"Load {report.batch_id}")
    for name, read, loaded, quarantined, dropped in report.rows():
        table.add_row(name, f"{read:,}", f"{loaded:,}", f"{quarantined:,}", dropped)
    Console().print(table)
    verb = "was already loaded; nothing changed" if report.status == "unchanged" else "loaded"
    typer.echo(
        f"Export {verb}: {report.db} ("
        + (f"program {report.program}, " if report.program != config.DEFAULT_PROGRAM else "")
        + f"as of {report.as_of}, data version {report.data_version}); "
        f"{report.rows_quarantined:,} rows quarantined (see `peer-outcomes status`)."
    )


@app.command()
def spark(
    out: Annotated[str, typer.Option("--out", help="Folder or cluster URI (hdfs://, s3a://) for the built tables.")],
    db: Db = None,
    core: Annotated[str | None, typer.Option("--core", help="Folder or URI of the core tables as Parquet, instead of --db.")] = None,
    master: Annotated[str | None, typer.Option("--master", help="Spark master (default: $PEER_OUTCOMES_SPARK_MASTER, else local mode).")] = None,
    conf: Annotated[list[str] | None, typer.Option("--conf", help="A Spark setting KEY=VALUE; repeat for more.")] = None,
) -> None:
    """Build the marts and the survival aggregates on Apache Spark, from the warehouse or its Parquet core tables.

    Example: peer-outcomes spark --db data/warehouse.duckdb --out /data/spark-built
    Example: peer-outcomes spark --core s3a://lake/core --out s3a://lake/built --master spark://host:7077
    """
    from peer_outcomes.pipelines.spark import run

    settings = dict(item.partition("=")[::2] for item in conf or [])
    if any(not key or not value for key, value in settings.items()):
        raise UserError("--conf takes KEY=VALUE, e.g. --conf spark.driver.memory=4g.")
    built = run(out, db=None if core else db, core=core, master=master, conf=settings)
    for name, path in built.items():
        typer.echo(f"{name:40} {path}")
    typer.echo(f"Built {len(built)} tables on Spark into {out}.")


@app.command()
def status(
    db: Db = None,
) -> None:
    """Show the warehouse: settings, recent loads, row counts and quarantined rows by reason.

    Example: peer-outcomes status --db data/warehouse.duckdb
    """
    from rich.table import Table

    from peer_outcomes.pipelines.report import warehouse_status

    st = warehouse_status(db)
    out = Console()
    out.print(", ".join(f"{k}: {v}" for k, v in st.settings.items()) or "No settings: the warehouse was never loaded.")
    if len(st.programs) > 1:  # one line per program: its own cutoff and its people
        for code, name, as_of, n in st.programs:
            out.print(f"program {code}" + (f" ({name})" if name != code else "") + f": as of {as_of}, {n:,} participants")
    several = len(st.programs) > 1  # which program each load was of
    batches = Table("batch", *["program"] * several, "started", "status", "files", "read", "loaded", "quarantined",
                    title="Loads")  # fmt: skip
    for b in st.batches:
        batches.add_row(b[0], *[b[7]] * several, f"{b[1]:%Y-%m-%d %H:%M}", b[2], str(b[3]), f"{b[4]:,}", f"{b[5]:,}",
                        f"{b[6]:,}")  # fmt: skip
    out.print(batches)
    counts = Table("table", "rows", title="Rows")
    for name, n in st.counts:
        counts.add_row(name, f"{n:,}")
    out.print(counts)
    quarantine = Table("file", "reason", "rows", title="Quarantined rows (latest load)")
    for entity, reason, n in st.quarantine:
        quarantine.add_row(entity, reason, f"{n:,}")
    out.print(quarantine if st.quarantine else "No rows quarantined in the latest load.")


@app.command()
def extract(
    out: Annotated[Path, typer.Option("--out", help="New or empty folder for the extract.")],
    db: Db = None,
) -> None:
    """Write a de-identified research extract: random ids, days since enrollment, years only.

    Example: peer-outcomes extract --out extract-2026 --db data/warehouse.duckdb
    """
    from peer_outcomes.pipelines.extract import write_extract

    report = write_extract(db, out)
    for name, rows in report.rows.items():
        typer.echo(f"{name:28} {rows:>10,} rows")
    typer.echo(f"Wrote the research extract to {out} (see data_dictionary.csv and README.md).")


@app.command()
def evidence(
    out: Annotated[Path, typer.Option("--out", help="Folder for the pack (created; its files are replaced).")],
    db: Db = None,
    date_from: Annotated[str | None, typer.Option("--from", help="Enrolled on or after (YYYY-MM-DD).")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Enrolled on or before (YYYY-MM-DD).")] = None,
    sites: Annotated[list[str] | None, typer.Option("--sites", help="Only these site codes (repeatable).")] = None,
    programs: Annotated[list[str] | None, typer.Option("--programs", help="Only these program codes (repeatable; a warehouse of several programs).")] = None,
    zip_file: Annotated[bool, typer.Option("--zip", help="Also write the pack as OUT.zip.")] = False,
) -> None:
    """Build the evidence pack: charts (PNG + SVG), suppressed CSVs, a PDF report and a manifest.

    Example: peer-outcomes evidence --out evidence --from 2024-01-01 --sites A --sites B
    """
    from peer_outcomes.dashboard.pack_check import check_arguments

    check_arguments(db, out, date_from, date_to, sites or [], programs or [])  # before anything slow starts

    from peer_outcomes.dashboard.render import Painter

    with Painter() as painter:  # the chart browser boots while the pack's libraries load
        from peer_outcomes.dashboard.evidence import build_pack, parse_filters

        filters = parse_filters(date_from, date_to, sites, programs=programs)
        manifest = build_pack(db, out, filters, progress=True, zip_path=out.with_suffix(".zip") if zip_file else None,
                              painter=painter)  # fmt: skip
    typer.echo(f"Wrote {len(manifest['files'])} files to {out} (manifest.json lists their sha256).")


@app.command()
def dashboard(
    db: Db = None,
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8501,
    address: Annotated[str, typer.Option("--address", help="Address to listen on; anything but 127.0.0.1 needs --auth.")] = "127.0.0.1",
    auth_file: Annotated[Path | None, typer.Option("--auth", help="Sign-in config (docs/deploy.md): OpenID Connect and roles.")] = None,
    dev: Annotated[bool, typer.Option("--dev", help="Show error details and rerun on save.")] = False,
) -> None:
    """Serve the dashboard on 127.0.0.1 (read-only warehouse, small cells suppressed); --auth adds sign-in and roles.

    Example: peer-outcomes dashboard --db data/warehouse.duckdb --port 8502
    Example: peer-outcomes dashboard --db /var/lib/peer-outcomes/warehouse.duckdb --auth /etc/peer-outcomes/auth.toml
    """
    import os

    from peer_outcomes.dashboard import audit, auth
    from peer_outcomes.pipelines.warehouse import connect_readonly

    path = db.resolve()
    with connect_readonly(path):  # fails here, as one sentence, if the file is missing or not DuckDB
        pass
    if auth_file is None and not auth.is_loopback(address):
        raise UserError(f"Serving on {address} lets other machines in, so it needs sign-in: add --auth FILE (docs/deploy.md).")
    cfg = auth.load_config(auth_file) if auth_file else None
    here = Path(__file__).parent
    # streamlit run, with the pages' heavy modules imported before the first visit (dashboard/serve.py)
    args = [sys.executable, "-m", "peer_outcomes.dashboard.serve", "run", str(here / "app.py"),
            "--server.address", address, "--server.port", str(port), "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--server.enableCORS", "true",
            "--server.enableXsrfProtection", "true", "--server.runOnSave", str(dev).lower(),
            "--client.showErrorDetails", "full" if dev else "none"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in (auth.ENV, audit.ENV)} | {"PEER_OUTCOMES_DB": str(path)}
    if cfg:
        env |= {auth.ENV: str(cfg.path.resolve()), audit.ENV: str(audit.default_path(path))}
    typer.echo(f"Serving {path} at http://{address}:{port}" + (f" with sign-in ({cfg.path})" if cfg else "")
               + " (Ctrl+C stops it).")  # fmt: skip
    code = _serve(args, env, here, cfg.streamlit_secrets() if cfg else None)
    if code > 0:
        raise typer.Exit(code)


def _serve(args: list[str], env: dict[str, str], cwd: Path, secrets: str | None) -> int:
    """Run Streamlit until it stops; Streamlit's `[auth]` secrets live in a private temporary folder (0700,
    file 0600) for this run only, never in the repository, and are removed when it stops."""
    import os
    import signal
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="peer-outcomes-") as tmp:
        if secrets is not None:
            path = Path(tmp) / "secrets.toml"
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as fh:
                fh.write(secrets)
            args = [*args, "--secrets.files", str(path)]
        # cwd: streamlit reads .streamlit/config.toml (theme, toolbar) from the working directory
        proc = subprocess.Popen(args, env=env, cwd=cwd)
        signal.signal(signal.SIGTERM, lambda *_: proc.terminate())  # systemd or a test stops us: stop it too
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:  # Ctrl+C reached Streamlit too; wait for it to finish
                continue


@app.command("audit")
def audit_trail(
    db: Db = None,
    last: Annotated[int, typer.Option("--last", help="How many of the latest events to show.")] = 50,
) -> None:
    """Print the audit trail: who viewed which page and downloaded what, and when (latest last).

    Example: peer-outcomes audit --db /var/lib/peer-outcomes/warehouse.duckdb --last 100
    """
    from rich.table import Table

    from peer_outcomes.dashboard import audit

    path = audit.default_path(db)
    events = audit.read(path)
    table = Table("when (UTC)", "who", "role", "did", "page", "file", "population",
                  title=f"Audit trail {path} ({len(events):,} events; latest {min(last, len(events)):,})")  # fmt: skip
    for e in events[-last:] if last > 0 else []:
        table.add_row(*(str(e.get(k, "")) for k in audit.FIELDS))
    Console().print(table)


@app.command()
def doctor(
    db: Db = None,
    auth_file: Annotated[Path | None, typer.Option("--auth", help="The sign-in config the server uses.")] = None,
    address: Annotated[str, typer.Option("--address", help="The address the server listens on.")] = "127.0.0.1",
) -> None:
    """Check a server's setup: key permissions, warehouse, sign-in config, address, audit trail (docs/deploy.md).

    Example: peer-outcomes doctor --db /var/lib/peer-outcomes/warehouse.duckdb --auth /etc/peer-outcomes/auth.toml
    """
    from peer_outcomes.dashboard.doctor import run_checks
    from peer_outcomes.pipelines.pseudonym import key_file

    results = run_checks(key_file(), db.resolve(), auth_file, address)
    for ok, sentence in results:
        typer.echo(f"{'ok  ' if ok else 'FAIL'}  {sentence}")
    if not all(ok for ok, _ in results):
        raise typer.Exit(1)


def main() -> None:
    """Console entry point: a UserError ends as one sentence on stderr and exit code 1."""
    try:
        app()
    except UserError as exc:
        err.print(f"Error: {exc}", markup=False, highlight=False)
        sys.exit(1)
