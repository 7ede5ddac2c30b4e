"""Reading a flat lead table (one row per lead) as text, for the flat training path.

CSV encoding, delimiter and quoting are detected as for the canonical tables; every cell is
read as text so that the flat path decides types itself (missing-value spellings, numbers
with a decimal comma). Parquet is read as it is.
"""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

import polars as pl

from leadscore.data.dialect import sniff_csv, transcode_to_utf8
from leadscore.errors import DataError

__all__ = ["read_flat_table"]


def read_flat_table(location: str | Path) -> pl.DataFrame:
    """The table in the CSV or Parquet file at ``location``."""
    path = Path(location)
    if not path.is_file():
        raise DataError(f"{path}: no such file (a flat lead table is one CSV or Parquet file)")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if suffix not in {".csv", ".txt", ".tsv"}:
            raise DataError(f"{path}: a flat lead table must be a .csv or .parquet file")
        dialect = sniff_csv(path)
        with TemporaryDirectory(prefix="leadscore-") as folder:
            source = path
            if not dialect.is_utf8:
                source = transcode_to_utf8(path, dialect.encoding, Path(folder) / "utf8.csv")
            frame = pl.read_csv(
                source,
                separator=dialect.delimiter,
                quote_char=dialect.quote_char or None,
                infer_schema=False,
                raise_if_empty=True,
            )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"{path}: cannot be read as a table: {exc}") from exc
    if frame.is_empty():
        raise DataError(f"{path}: the table has a header but no rows")
    return frame
