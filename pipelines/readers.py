"""Read an export folder as text: CSV, XLSX or Parquet, one file per entity, nothing coerced yet.

Every value is read as text (or NULL) so that validation, not the reader, decides what a value means and
nothing is coerced silently. Each row carries `_line`, the spreadsheet row it came from: the header is
line 1, the first data row line 2, a blank row still counts (it is skipped, not loaded), and a quoted
field spanning several physical lines is one row — what a coordinator sees when opening the file in a
spreadsheet.

CSV has two paths. The fast one is DuckDB's `read_csv` (strict RFC 4180, UTF-8, BOM and CRLF accepted);
it skips blank rows, so a file with blank rows inside either takes the exact path or, in the ETL, has the
lines of its quarantined rows corrected afterwards (`settle_lines`). When DuckDB cannot parse a file,
`read_text_csv` reads it with Python's csv module instead: slower, but it numbers every row exactly and
turns each malformed row into an "unreadable" entry for the quarantine instead of failing the load. Source
columns are exposed as c0, c1, … so that odd header texts never reach SQL; `headers` keeps the original
names.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import mmap
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from peer_outcomes.pipelines.contract import ENTITIES
from peer_outcomes.pipelines.errors import UserError

FORMATS = ("csv", "xlsx", "parquet")
MAX_LINE_BYTES = 8 * 1024 * 1024


class ExportError(UserError):
    """The export folder or one of its files cannot be read; the message names the file."""


@dataclass(frozen=True)
class ExportFile:
    """One entity's file in the export."""

    entity: str
    path: Path
    format: str

    @property
    def name(self) -> str:
        return self.path.name

    def sha256(self) -> str:
        """The file's SHA-256 (hashlib releases the GIL: the ETL hashes in the background).

        `hashlib.file_digest` reads it in 256 KiB chunks: 0.83x the CPU of hashing an mmap of it (page faults),
        and SHA-256 beats BLAKE2b where the CPU has SHA extensions (benchmarks/bench_hash.py).
        """
        with self.path.open("rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()

    def has_blank_rows(self, records: int | None = None) -> bool:
        """Whether a CSV has blank rows inside it (trailing ones do not count).

        DuckDB's reader skips them, which shifts the line numbers after them. Given the number of records
        DuckDB read, a count of line breaks (numpy, fast) settles most files: one break after the header and
        after each record but the last means no blank row and no line break inside a value. Otherwise the
        bytes are searched for an empty line (slow, and it holds the GIL).
        """
        if self.format != "csv":
            return False
        with self.path.open("rb") as fh:
            if fh.seek(0, 2) == 0:
                return False
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                end = len(mm)
                while end > 0 and mm[end - 1] in b"\r\n \t":
                    end -= 1
                newline = b"\n" if mm.find(b"\n", 0, MAX_LINE_BYTES) >= 0 else b"\r"
                if records is not None:
                    data = np.frombuffer(mm, dtype=np.uint8, count=end)
                    breaks = int(np.count_nonzero(data == newline[0]))
                    del data  # the mmap cannot close while numpy holds a view of it
                    if breaks == records:
                        return False
                patterns = (b"\n\n", b"\n\r\n") if newline == b"\n" else (b"\r\r",)
                return any(mm.find(p, 0, end) >= 0 for p in patterns)


@dataclass
class Source:
    """An entity's rows as text: `relation` is a SQL from-item with columns _line, c0..cN (varchar)."""

    file: ExportFile
    headers: list[str]
    relation: str
    fast: bool = False
    lines_settled: bool = True  # False: a fast read whose blank rows were not looked for (settle_lines)
    unreadable: list[tuple[int, str]] = field(default_factory=list)  # (line, plain reason)
    sheet: str | None = None  # a workbook's first sheet, the only one read
    formulas: bool = (
        False  # the relation has `_nf`: ",c1,c4," lists the cells that are formulas without a value
    )
    # Parquet only: `typed` is `relation` plus n<i>, column c<i> as stored, for the columns whose stored type
    # (`native`: c<i> → DuckDB type) is one staging can take as it is (validate.TYPED)
    native: dict[str, str] = field(default_factory=dict)
    typed: str | None = None

    @property
    def names(self) -> list[str]:
        return [f"c{i}" for i in range(len(self.headers))]


def find_export(export_dir: Path) -> dict[str, ExportFile]:
    """The entity files in an export folder; participants is required, the others optional."""
    if not export_dir.exists():
        raise ExportError(f"The export folder {export_dir} does not exist.")
    if not export_dir.is_dir():
        raise ExportError(f"{export_dir} is a file; give the folder that holds the export files.")
    found: dict[str, ExportFile] = {}
    try:
        paths = sorted(export_dir.iterdir())
    except OSError as exc:
        raise ExportError(f"The export folder {export_dir} could not be read ({exc.strerror}).") from None
    for path in paths:
        stem, _, suffix = path.name.rpartition(".")
        entity, fmt = stem.lower(), suffix.lower()
        if entity in ENTITIES and fmt in FORMATS and path.is_file():
            if entity in found:
                raise ExportError(
                    f"The export has both {found[entity].name} and {path.name}; keep one file per entity."
                )
            found[entity] = ExportFile(entity, path, fmt)
    if "participants" not in found:
        raise ExportError(
            f"The export folder {export_dir} has no participants file (participants.csv, .xlsx or .parquet)."
        )
    return found


def open_source(
    con: duckdb.DuckDBPyConnection, file: ExportFile, table: str, settle_lines: bool = True, zone: str = "UTC"
) -> Source:
    """One file's rows as text in the table `table` (see `_create`).

    `zone` is the program's time zone: a Parquet timestamp with a zone becomes the date it was there.

    With `settle_lines=False` a CSV is always read by DuckDB and the search for blank rows is left to the
    caller (`settle_lines`, needed only for rows that are quarantined): a clean file is then read once.
    """
    try:
        return _open(con, file, table, settle_lines, zone)
    except OSError as exc:  # unreadable (permissions, a file removed while loading, a bad disk)
        raise ExportError(f"{file.name} could not be read ({exc.strerror or 'input/output error'}).") from None


def _open(con: duckdb.DuckDBPyConnection, file: ExportFile, table: str, settle_lines: bool, zone: str) -> Source:
    if file.format == "csv":
        if settle_lines and file.has_blank_rows():
            return read_text_csv(con, file, table)
        source = read_fast_csv(con, file, table) or read_text_csv(con, file, table)
        source.lines_settled = settle_lines or not source.fast
        return source
    if file.format == "xlsx":
        return read_xlsx(con, file, table)
    return read_parquet(con, file, table, zone)


def refuse_duplicate_headers(file: ExportFile, headers: list[str]) -> None:
    """Two columns with one name (spacing and case aside) are refused in every format: which would count?"""
    seen: set[str] = set()
    for header in headers:
        name = header.strip().casefold()
        if name in seen:
            raise ExportError(f"{file.name} has two columns named {header.strip()}; rename or remove one.")
        if name:
            seen.add(name)


def settle_lines(con: duckdb.DuckDBPyConnection, source: Source, table: str, where: str, detail: str) -> None:
    """Give the rows of `table` matching `where` their true spreadsheet lines, if DuckDB skipped blank rows.

    `_line` of a fast read counts records; after a blank row it is too small. The true line of each record
    comes from Python's csv reader (slow, so only run for a file with rows to quarantine and blank rows).
    Rows matching `detail` carry a line number in `_detail` too ("duplicate of line N"): it is mapped alike.
    """
    if source.lines_settled:
        return
    source.lines_settled = True
    records = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    if not source.file.has_blank_rows(records):
        return
    true = [line for line, _ in _csv_rows(source.file)]
    if len(true) != records:
        raise RuntimeError(f"{source.file.name}: DuckDB and Python's csv module see different rows")
    con.register("_lines", pa.table({"pos": pa.array(range(2, len(true) + 2), pa.int64()), "line": true}))
    try:
        con.execute(
            f"""update {table} set _detail = cast(m.line as varchar) from _lines m
                where ({detail}) and try_cast({table}._detail as bigint) = m.pos"""
        )
        con.execute(
            f"update {table} set _line = m.line from _lines m where ({where}) and {table}._line = m.pos"
        )
    finally:
        con.unregister("_lines")


def _create(table: str) -> str:
    """CREATE for a reader's table: a TEMP table, or a table of an attached in-memory database
    (`scratch.raw_x`, which other connections of the same database can read: etl.py reads in the background).
    """
    return f"create or replace {'' if '.' in table else 'temp '}table {table}"


def _sql_path(path: Path) -> str:
    return "'" + str(path.resolve()).replace("'", "''") + "'"


def _read_header(file: ExportFile) -> list[str]:
    with file.path.open("rb") as fh:
        head = fh.read(64 * 1024)
        if b"\n" not in head and b"\r" not in head:  # a very long header (or none): read up to the limit
            head += fh.read(MAX_LINE_BYTES)
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a multi-byte character cut at the end of the chunk
            raise ExportError(
                f'{file.name} is not UTF-8 text; save it as "CSV UTF-8" and try again.'
            ) from None
        text = head[: exc.start].decode("utf-8-sig")
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), None)
    except csv.Error:
        header = None
    if not header or not any(h.strip() for h in header):
        raise ExportError(f"{file.name} has no header row; the first line must name the columns.")
    refuse_duplicate_headers(file, header)
    return header


def read_fast_csv(con: duckdb.DuckDBPyConnection, file: ExportFile, table: str) -> Source | None:
    """DuckDB's reader into the temp table `table`, for files without blank rows inside; None when DuckDB
    cannot parse the file strictly (the caller then uses `read_text_csv`)."""
    headers = _read_header(file)
    if file.path.stat().st_size == 0:
        return None
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(headers))) + "}"
    # With insertion order preserved (DuckDB's default; a global setting, so it is left on), a parallel read
    # stores rows in file order, and a fresh table's rowid is the row's position in the file (cheaper than
    # row_number(), which reads on one thread).
    con.execute("set preserve_insertion_order = true")
    try:
        con.execute(
            f"{_create(table)} as select * from read_csv({_sql_path(file.path)}, "
            f"columns={columns}, header=true, delim=',', quote='\"', escape='\"', auto_detect=false, "
            f"strict_mode=true, max_line_size={MAX_LINE_BYTES})"
        )
    except duckdb.Error:  # its message quotes the offending line: never pass it on
        return None
    return Source(file, headers, f"(select rowid + 2 as _line, * from {table})", fast=True)


def _register(
    con: duckdb.DuckDBPyConnection,
    table: str,
    lines: list[int],
    columns: list[list],
    extra: dict | None = None,
) -> str:
    arrays = {"_line": pa.array(lines, pa.int64())}
    arrays.update({f"c{i}": pa.array(col, pa.string()) for i, col in enumerate(columns)})
    arrays.update({name: pa.array(col, pa.string()) for name, col in (extra or {}).items()})
    view = f"{table.rpartition('.')[2]}_arrow"  # a registered view has no schema
    con.register(view, pa.table(arrays))
    con.execute(f"{_create(table)} as select * from {view}")
    con.unregister(view)
    return table


def _csv_rows(file: ExportFile) -> Iterator[tuple[int, list[str]]]:
    """(line, values) of every non-blank data row, read by Python's csv module.

    A quote left open swallows every later line into one value, and a file cut off mid-row ends short: both
    make the rest of the file unreadable, so they stop the load (`_refuse_cut_off`) instead of counting
    what they swallowed as one bad row.
    """
    try:
        text = file.path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ExportError(f'{file.name} is not UTF-8 text; save it as "CSV UTF-8" and try again.') from None
    csv.field_size_limit(sys.maxsize)
    buf = io.StringIO(text, newline="")
    reader = csv.reader(buf)
    try:
        header = next(reader, [])
        line, start, last = 2, buf.tell(), None
        for row in reader:
            if row and (len(row) > 1 or row[0].strip()):  # a blank row counts for line numbers only
                yield line, row
                last = (line, start, row)
            line, start = line + 1, buf.tell()
    except csv.Error:
        raise ExportError(f"{file.name} could not be read as CSV near row {reader.line_num}.") from None
    if last is not None:
        _refuse_cut_off(file, text, len(header), *last)


def _refuse_cut_off(file: ExportFile, text: str, width: int, line: int, start: int, row: list[str]) -> None:
    """Stop with one sentence when the last record runs to the end of the file inside a quote, or is cut
    short without a line break: the records it swallowed or lost could not be counted."""
    tail = text[start:]
    if '"' in tail:
        try:
            next(csv.reader(io.StringIO(tail, newline=""), strict=True), None)
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise ExportError(
                    f"{file.name} has a quote opened on line {line} that is never closed, so the rest of the "
                    "file cannot be read; fix that line and export the file again."
                ) from None
    if len(row) < width and not text.endswith(("\n", "\r")):
        raise ExportError(
            f"{file.name} ends in the middle of line {line}, so the file looks cut off; export it again."
        )


def read_text_csv(con: duckdb.DuckDBPyConnection, file: ExportFile, table: str) -> Source:
    """Python's csv reader: exact row numbers, and malformed rows kept as 'unreadable' for the quarantine."""
    headers = _read_header(file)
    width = len(headers)
    lines: list[int] = []
    columns: list[list[str | None]] = [[] for _ in range(width)]
    unreadable: list[tuple[int, str]] = []
    for line, row in _csv_rows(file):
        if len(row) > width and not any(v.strip() for v in row[width:]):
            row = row[:width]  # trailing empty cells, as some spreadsheets write them
        if len(row) != width:
            unreadable.append((line, f"the row has {len(row)} values but the header has {width} columns"))
            continue
        lines.append(line)
        for i, value in enumerate(row):
            columns[i].append(value if value != "" else None)
    return Source(file, headers, _register(con, table, lines, columns), unreadable=unreadable)


def _cell_text(value: object) -> str | None:
    """A spreadsheet cell as the text a CSV export would have held."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


def read_xlsx(con: duckdb.DuckDBPyConnection, file: ExportFile, table: str) -> Source:
    """The first worksheet of a workbook; line = the worksheet's row number.

    Read twice: the values Excel saved, and the cells' formulas. A formula without a saved value (a file
    written by a script and never opened in Excel) would read as blank; `_nf` names such cells so that the
    row is quarantined if the column is loaded (validate.py).
    """
    import openpyxl  # imported here: only exports with spreadsheets pay for it

    try:
        book = openpyxl.load_workbook(file.path, read_only=True, data_only=True)
        formulas = openpyxl.load_workbook(file.path, read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds of errors for a damaged or non-xlsx file
        raise ExportError(f"{file.name} could not be opened as an Excel workbook.") from None
    try:
        sheet = book.worksheets[0]
        rows = zip(
            sheet.iter_rows(values_only=True),
            formulas.worksheets[0].iter_rows(values_only=True),
            strict=False,
        )
        header_row = next(rows, None) or ((), ())
        headers = [_cell_text(v) or "" for v in header_row[0]]
        while headers and not headers[-1]:
            headers.pop()
        if not any(headers):
            raise ExportError(
                f"{file.name} has no header row in its first sheet, '{sheet.title}' (only the first sheet is read); "
                "the first row must name the columns."
            )
        refuse_duplicate_headers(file, headers)
        width = len(headers)
        lines: list[int] = []
        columns: list[list[str | None]] = [[] for _ in range(width)]
        missing: list[str | None] = []
        unreadable: list[tuple[int, str]] = []
        for line, (row, row_formulas) in enumerate(rows, start=2):
            cells = [_cell_text(v) for v in row]
            unsaved = [
                i
                for i, (v, f) in enumerate(zip(row, row_formulas, strict=False))
                if v is None and isinstance(f, str) and f.startswith("=") and i < width
            ]
            if not unsaved and not any(c is not None for c in cells):
                continue
            if len(cells) > width and any(c is not None for c in cells[width:]):
                unreadable.append((line, f"the row has values beyond the {width} named columns"))
                continue
            cells = (cells + [None] * width)[:width]
            lines.append(line)
            missing.append("," + ",".join(f"c{i}" for i in unsaved) + "," if unsaved else None)
            for i, value in enumerate(cells):
                columns[i].append(value)
        title = sheet.title
    finally:
        book.close()
        formulas.close()
    has_formulas = any(m is not None for m in missing)
    extra = {"_nf": missing} if has_formulas else {}
    relation = _register(con, table, lines, columns, extra)
    return Source(file, headers, relation, unreadable=unreadable, sheet=title, formulas=has_formulas)


# Parquet types whose values staging takes as stored: each gives back the same value through its text
# (cast to varchar and parsed again, as the text path does), so typing them from text is skipped
INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")
NATIVE_TYPES = ("DATE", "BOOLEAN", *INTEGERS)
PARQUET_DAMAGED = "{name} could not be read as a Parquet file; it may be damaged, so export it again."


def read_parquet(con: duckdb.DuckDBPyConnection, file: ExportFile, table: str, zone: str = "UTC") -> Source:
    """A Parquet file, read where it lies: every column as text; line = row number + 2 (as after a header row).

    `Source.typed` also offers the date, integer and boolean columns as stored: staging takes a column whose
    stored type matches the contract as it is, instead of casting it to text and parsing it back (at 10M,
    most of staging sessions); any other column goes through the text, as from a CSV.

    Nothing is copied here: the relation reads `read_parquet(...)` straight from the file each time staging
    scans it, so a 10M-participant export is never held as text (docs/scale.md). The footer and schema are
    checked now, so a file damaged there stops the load with one sentence before anything is checked; a page
    damaged further in surfaces when staging reads it, and etl._stage ends with the same sentence
    (`parquet_damaged`). `table` is unused (nothing is materialised), kept for the readers' common signature.
    A timestamp with a time zone becomes the program's local time in `zone` (mapping.yaml, default UTC),
    never the machine's: 2024-03-01T02:00Z is 2024-02-29 in Los Angeles, 2024-03-01 in UTC.
    """
    import pyarrow.parquet as pq

    damaged = parquet_damaged(file)
    try:
        meta = pq.read_metadata(file.path)  # the footer: a truncated or foreign file fails here
        headers = list(meta.schema.to_arrow_schema().names)
        described = con.execute(f"describe select * from read_parquet({_sql_path(file.path)})").fetchall()
    except (duckdb.Error, pa.ArrowException, OSError):
        raise ExportError(damaged) from None
    refuse_duplicate_headers(file, headers)
    if [row[0] for row in described] != headers:
        raise ExportError(damaged)
    casts, natives, native = [], [], {}
    for i, (name, dtype, *_) in enumerate(described):
        column = '"' + name.replace('"', '""') + '"'
        if dtype == "TIMESTAMP WITH TIME ZONE":
            local = f"timezone('{zone.replace(chr(39), chr(39) * 2)}', {column})"
            casts.append(f"strftime({local}, '%Y-%m-%d %H:%M:%S') as c{i}")
        else:
            casts.append(f"cast({column} as varchar) as c{i}")
        if dtype in NATIVE_TYPES:
            natives.append(f"{column} as n{i}")
            native[f"c{i}"] = dtype
    scan = f"from read_parquet({_sql_path(file.path)}, file_row_number=true))"
    relation = f"(select file_row_number + 2 as _line, {', '.join(casts)} {scan}"
    # the columns staging does not use are left out of the scan (DuckDB prunes a subquery's unused columns)
    typed = f"(select file_row_number + 2 as _line, {', '.join(casts + natives)} {scan}" if natives else None
    return Source(file, headers, relation, native=native, typed=typed)


def parquet_damaged(file: ExportFile) -> str:
    """The one sentence a damaged Parquet file ends in, whenever the damage is found."""
    return PARQUET_DAMAGED.format(name=file.name)
