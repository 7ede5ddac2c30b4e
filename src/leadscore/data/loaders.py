"""Opening one table as a lazy frame of raw values, renamed by the mapping, with a row index.

CSV files are read with every column as text (types are decided by :mod:`.parsing`, so that a
bad value becomes a violation instead of an error); Parquet and SQL keep their own types. Each
frame carries ``ROW``, the 0-based position of the record, which :func:`row_numbers` turns into
what reports show: the line in a CSV file (header = line 1, line breaks inside quoted fields
counted) or the 1-based row position for Parquet and SQL.

Decimal comma, detected only for ``;``-separated files without a declared ``decimal``: the
numeric columns (``company_size``, ``deal_value``, ``value``, ``revenue``) are scanned; if some
value looks like ``1234,5`` and none like ``1234.5``, the file uses a decimal comma.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Final, TypeVar

import polars as pl
from polars.exceptions import PolarsError

from leadscore.data.dialect import CsvDialect, sniff_csv, transcode_to_utf8
from leadscore.data.mapping import CsvOptions, DataMapping
from leadscore.data.parsing import ParseOptions
from leadscore.data.report import Notice, RowKind
from leadscore.data.rules import OVERFLOW, ROW
from leadscore.data.schemas import table_spec
from leadscore.data.sources import SourceKind, TableSource
from leadscore.errors import ConfigError, DataError

__all__ = ["RawTable", "guarded", "open_table", "row_numbers"]

_COMMA_EVIDENCE: Final = r"^\s*[+-]?\d+,\d+\s*$"
_POINT_EVIDENCE: Final = r"^\s*[+-]?\d+\.\d+\s*$"
_NEWLINE_CHUNK: Final = 8 * 1024 * 1024

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class RawTable:
    """One table opened for validation: raw values under mapped names, plus ``ROW``."""

    table: str
    location: str
    kind: SourceKind
    frame: pl.LazyFrame
    options: ParseOptions
    notices: tuple[Notice, ...] = ()
    csv_file: Path | None = None
    header_lines: int = 1

    @property
    def row_kind(self) -> RowKind:
        return "line" if self.kind == "csv" else "row"


def guarded(location: str, run: Callable[[], T]) -> T:
    """Run ``run`` and turn a polars error into a DataError that names ``location``."""
    try:
        return run()
    except PolarsError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = ""
        if "utf-8" in first.lower() or "utf8" in first.lower():
            hint = "; give its encoding (csv.encoding in the mapping or --encoding)"
        raise DataError(f"{location}: cannot be read: {first}{hint}") from exc


def _rename(
    frame: pl.LazyFrame, table: str, location: str, mapping: DataMapping
) -> tuple[pl.LazyFrame, list[Notice]]:
    names = [
        name
        for name in guarded(location, frame.collect_schema).names()
        if name not in {ROW, OVERFLOW}
    ]
    renames = {name: name.strip().lstrip("\ufeff") for name in names}
    columns = mapping.table(table).columns
    notices: list[Notice] = []
    found = set(renames.values())
    for source in columns:
        if source not in found:
            notices.append(
                Notice(
                    table, "mapping", f"{table}.columns: {source!r} is not a column of {location}"
                )
            )
    renames = {name: columns.get(stripped, stripped) for name, stripped in renames.items()}
    targets = list(renames.values())
    for target in set(targets):
        if targets.count(target) > 1:
            clashing = [name for name, new in renames.items() if new == target]
            raise ConfigError(
                f"{table}.columns: columns {clashing} of {location} would all be named "
                f"{target!r}; map only one of them onto it"
            )
    return frame.rename(renames), notices


def _decimal_comma(
    frame: pl.LazyFrame, table: str, location: str, dialect: CsvDialect, options: CsvOptions
) -> tuple[bool, list[Notice]]:
    if options.decimal is not None:
        return options.decimal == ",", []
    if dialect.delimiter != ";":
        return False, []
    spec = table_spec(table)
    names = frame.collect_schema().names()
    numeric = [c.name for c in spec.columns if c.dtype.is_numeric() and c.name in names]
    if not numeric:
        return False, []
    evidence = guarded(
        location,
        lambda: frame.select(
            pl.any_horizontal(pl.col(numeric).str.contains(_COMMA_EVIDENCE)).any().alias("comma"),
            pl.any_horizontal(pl.col(numeric).str.contains(_POINT_EVIDENCE)).any().alias("point"),
        ).collect(engine="streaming"),
    ).row(0, named=True)
    if evidence["comma"] and not evidence["point"]:
        message = f"{location}: decimal comma detected (values like 1234,5 in {', '.join(numeric)})"
        return True, [Notice(table, "dialect", message)]
    if evidence["comma"]:
        message = (
            f"{location}: numeric columns mix 1234,5 and 1234.5; read with a decimal point "
            "(declare csv.decimal in the mapping or --decimal to change that)"
        )
        return False, [Notice(table, "dialect", message)]
    return False, []


def _path(source: TableSource) -> Path:
    if source.path is None:
        raise DataError(f"{source.location}: a {source.kind} source needs a file path")
    return source.path


def _open_csv(
    source: TableSource, options: CsvOptions, stack: ExitStack
) -> tuple[pl.LazyFrame, Path, list[Notice], CsvDialect]:
    original = _path(source)
    dialect = sniff_csv(
        original,
        encoding=options.encoding,
        delimiter=options.delimiter,
        quote_char=options.quote_char,
    )
    path = original
    if not dialect.is_utf8:
        folder = Path(stack.enter_context(TemporaryDirectory(prefix="leadscore-")))
        path = transcode_to_utf8(original, dialect.encoding, folder / "utf8.csv")
    read = partial(
        pl.scan_csv,
        path,
        separator=dialect.delimiter,
        quote_char=dialect.quote_char or None,
        infer_schema=False,
        raise_if_empty=False,
        row_index_name=ROW,
    )
    header = guarded(source.location, read().collect_schema).names()
    frame = read()
    if len(header) > 1:
        # One spare column catches the fields of rows longer than the header, so that such
        # rows become violations (rule field_count) instead of stopping the read.
        schema = {name: pl.String() for name in header if name != ROW} | {OVERFLOW: pl.String()}
        frame = read(schema=schema, missing_columns="insert", truncate_ragged_lines=True)
    notice = Notice(source.table, "dialect", f"{source.location}: {dialect.describe()}")
    return frame, path, [notice], dialect


def open_table(
    source: TableSource,
    mapping: DataMapping,
    *,
    csv: CsvOptions | None = None,
    timezone: str | None = None,
    stack: ExitStack,
) -> RawTable | None:
    """Open ``source`` lazily; None when a SQL table does not exist. Temporary files (a
    transcoded CSV, SQL batches) live until ``stack`` closes."""
    table = source.table
    options = mapping.csv_for(table).overridden_by(csv)
    notices: list[Notice] = []
    csv_file: Path | None = None
    header_lines = 1
    decimal_comma = False
    dialect: CsvDialect | None = None
    if source.kind == "csv":
        frame, csv_file, notices, dialect = _open_csv(source, options, stack)
        header = guarded(source.location, frame.collect_schema).names()
        header_lines = 1 + sum(name.count("\n") for name in header)
    elif source.kind == "parquet":
        frame = pl.scan_parquet(_path(source)).with_row_index(ROW)
    else:
        from leadscore.data.sql import read_sql_parts, scan_parts  # SQLAlchemy only if needed

        folder = Path(stack.enter_context(TemporaryDirectory(prefix="leadscore-sql-")))
        url = source.url or source.location
        if not read_sql_parts(url, source.sql_table, source.sql_query, folder):
            return None
        frame = scan_parts(folder)
    frame, rename_notices = _rename(frame, table, source.location, mapping)
    notices += rename_notices
    if dialect is not None:
        decimal_comma, decimal_notices = _decimal_comma(
            frame, table, source.location, dialect, options
        )
        notices += decimal_notices
    parse = ParseOptions(
        timezone=timezone or mapping.timezone,
        datetime_formats=mapping.datetime_formats_for(table),
        decimal_comma=decimal_comma,
    )
    return RawTable(
        table, source.location, source.kind, frame, parse, tuple(notices), csv_file, header_lines
    )


def _line_breaks(path: Path) -> tuple[int, bool]:
    """The number of line breaks in ``path`` and whether the file ends with one."""
    count = 0
    last = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_NEWLINE_CHUNK):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count, last == b"\n"


def _embedded_newlines(raw: RawTable, rows_read: int) -> pl.DataFrame:
    """Rows whose quoted fields contain line breaks: ``ROW`` and their count ``n``."""
    empty = pl.DataFrame(schema={ROW: pl.Int64, "n": pl.Int64})
    if raw.csv_file is None:
        return empty
    breaks, terminated = _line_breaks(raw.csv_file)
    if rows_read == 0 or breaks - raw.header_lines - rows_read + (0 if terminated else 1) == 0:
        return empty
    names = [name for name in raw.frame.collect_schema().names() if name != ROW]
    broken = pl.any_horizontal(pl.col(names).str.contains("\n", literal=True))
    counts = pl.sum_horizontal(pl.col(names).str.count_matches("\n", literal=True).fill_null(0))
    query = raw.frame.filter(broken).select(
        pl.col(ROW).cast(pl.Int64), counts.cast(pl.Int64).alias("n")
    )
    found = guarded(raw.location, lambda: query.collect(engine="streaming"))
    return found.sort(ROW)


def row_numbers(raw: RawTable, rows: pl.Series, rows_read: int) -> pl.Series:
    """What reports call the row of each 0-based ``ROW`` in ``rows``: the CSV line number, or
    the 1-based position for Parquet and SQL."""
    rows = rows.cast(pl.Int64)
    if raw.kind != "csv":
        return rows + 1
    embedded = _embedded_newlines(raw, rows_read)
    base = rows + raw.header_lines + 1
    if embedded.height == 0:
        return base
    before = embedded[ROW].search_sorted(rows, side="left")
    cumulative = pl.concat([pl.Series([0], dtype=pl.Int64), embedded["n"].cum_sum()])
    return base + cumulative.gather(before)
