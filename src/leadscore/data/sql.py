"""Reading a table or query from a SQL database, in batches, into Parquet parts.

Rows are streamed from SQLAlchemy in batches of :data:`BATCH_ROWS` and written as Parquet files
into a folder the caller owns, each with the 1-based row position in the result. The rest of the
validation then scans these files lazily, so a large table never sits in memory as Python
objects. Values keep their database types; a column whose values have mixed Python types (SQLite
allows that) is read as text, so that the type rule reports the odd values instead of losing
them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import polars as pl
import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from leadscore.data.rules import ROW
from leadscore.errors import DataError, UsageError

__all__ = ["BATCH_ROWS", "read_sql_parts", "scan_parts"]

BATCH_ROWS: Final = 100_000


def _engine(url: str) -> sa.Engine:
    try:
        return sa.create_engine(url)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise UsageError(f"{url!r} is not a usable SQLAlchemy URL: {exc}") from exc


def _series(name: str, values: list[Any]) -> pl.Series:
    series = pl.Series(name, values, strict=False)
    if series.dtype == pl.Object():
        series = pl.Series(name, [None if v is None else str(v) for v in values], pl.String)
    return series


def _batch(columns: Sequence[str], rows: Sequence[Any], offset: int) -> pl.DataFrame:
    data = [_series(name, [row[i] for row in rows]) for i, name in enumerate(columns)]
    frame = pl.DataFrame(data)
    return frame.with_columns(pl.int_range(offset, offset + len(rows), dtype=pl.Int64).alias(ROW))


def _statement(
    connection: sa.Connection, table: str | None, query: str | None
) -> sa.Executable | None:
    if query is not None:
        return sa.text(query)
    if table is None:
        raise UsageError("a SQL source needs a table or a query")
    schema, _, name = table.rpartition(".")
    if not sa.inspect(connection).has_table(name, schema=schema or None):
        return None
    reflected = sa.Table(name, sa.MetaData(), autoload_with=connection, schema=schema or None)
    return sa.select(reflected)


def read_sql_parts(url: str, table: str | None, query: str | None, folder: Path) -> bool:
    """Write the rows of ``table`` (or of ``query``) at ``url`` to Parquet parts in ``folder``.

    Returns False when the table does not exist. Raises DataError when the database cannot be
    reached or the query fails.
    """
    engine = _engine(url)
    what = f"query {query!r}" if query is not None else f"table {table!r}"
    try:
        with engine.connect() as connection:
            statement = _statement(connection, table, query)
            if statement is None:
                return False
            result = connection.execution_options(stream_results=True).execute(statement)
            columns = list(result.keys())
            offset = 0
            part = 0
            for rows in result.partitions(BATCH_ROWS):
                _batch(columns, rows, offset).write_parquet(folder / f"part-{part:06d}.parquet")
                offset += len(rows)
                part += 1
            if part == 0:
                empty = pl.DataFrame(schema={**dict.fromkeys(columns, pl.String), ROW: pl.Int64})
                empty.write_parquet(folder / "part-000000.parquet")
    except SQLAlchemyError as exc:
        raise DataError(f"cannot read {what} from {engine.url!r}: {exc}") from exc
    finally:
        engine.dispose()
    return True


def scan_parts(folder: Path) -> pl.LazyFrame:
    """The Parquet parts in ``folder`` as one lazy frame (types widened across parts)."""
    parts = sorted(folder.glob("part-*.parquet"))
    return pl.concat([pl.scan_parquet(part) for part in parts], how="diagonal_relaxed")
