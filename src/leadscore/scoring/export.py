"""Writing scored and ranked leads: CSV, Parquet, JSON or Excel, chosen by the file suffix.

Files are written to a temporary name and renamed, so a failed write leaves no half file.
CSV and Excel join the reasons of a lead with "; "; Parquet and JSON keep them as lists.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Final

import polars as pl

from leadscore.errors import DataError, UsageError

__all__ = ["FORMATS", "check_output", "write_scores"]

FORMATS: Final = (".csv", ".parquet", ".json", ".xlsx")
_GRADE_FILL: Final = {"A": "C6EFCE", "B": "DDEBF7", "C": "FFF2CC", "D": "F2F2F2"}


def _touchpoint_text(item: pl.Expr) -> pl.Expr:
    """``demo (+3.1 pts → 24 %)`` for one recommended touchpoint."""
    uplift = item.struct.field("uplift") * 100
    return pl.format(
        "{} ({}{} pts → {} %)",
        item.struct.field("touchpoint"),
        pl.when(uplift >= 0).then(pl.lit("+")).otherwise(pl.lit("")),
        uplift.round(1),
        (item.struct.field("probability") * 100).round(0).cast(pl.Int64),
    )


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """Lists as ``; ``-joined text (recommended touchpoints as ``demo (+3.1 pts → 24 %)``)."""
    out = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
            text = pl.col(name).list.eval(_touchpoint_text(pl.element()))
            out.append(text.list.join("; ").alias(name))
        elif isinstance(dtype, pl.List):
            out.append(pl.col(name).list.join("; "))
    return frame.with_columns(out)


def _write_xlsx(frame: pl.DataFrame, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "leads"
    flat = _flat(frame).with_columns(
        pl.col(name).dt.replace_time_zone(None)
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime)
    )
    sheet.append(flat.columns)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in flat.iter_rows():
        sheet.append(list(row))
    if "grade" in flat.columns:
        column = flat.columns.index("grade") + 1
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
            colour = _GRADE_FILL.get(str(cell.value))
            if colour:
                cell.fill = PatternFill("solid", start_color=colour, end_color=colour)
    for index, name in enumerate(flat.columns, start=1):
        longest = max([len(name), *(len(str(v)) for v in flat[name].head(200).to_list())])
        sheet.column_dimensions[get_column_letter(index)].width = min(60, longest + 2)
    sheet.freeze_panes = "B2"
    sheet.auto_filter.ref = sheet.dimensions
    book.save(path)


def check_output(out: str | Path) -> Path:
    """The output path, refused early when its suffix names no format we write."""
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(
            f"Cannot write {path}: the suffix must be one of {', '.join(FORMATS)} "
            f"(got {suffix or 'none'!r})."
        )
    return path


def write_scores(frame: pl.DataFrame, out: str | Path) -> Path:
    """Write ``frame`` to ``out`` in the format of its suffix (see :data:`FORMATS`)."""
    path = check_output(out)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        _write(frame, tmp, suffix)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DataError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _write(frame: pl.DataFrame, tmp: Path, suffix: str) -> None:
    if suffix == ".csv":
        _flat(frame).write_csv(tmp, datetime_format="%Y-%m-%dT%H:%M:%SZ")
    elif suffix == ".parquet":
        frame.write_parquet(tmp)
    elif suffix == ".json":
        rows = frame.to_dicts()
        tmp.write_text(
            json.dumps(
                rows,
                indent=1,
                ensure_ascii=False,
                default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v),
            )
            + "\n",
            encoding="utf-8",
        )
    else:
        _write_xlsx(frame, tmp)
