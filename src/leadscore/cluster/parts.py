"""Data partitioned by lead: every part holds all rows of its leads in every table.

Two sources give parts:

* a **partitioned folder** (what ``leadscore generate --dask`` writes): ``partitions.json``
  and ``<table>/part-00000.parquet`` … for ``leads``, ``touchpoints`` and ``outcomes``; part
  ``k`` of every table holds the same leads. Each worker reads only its own part.
* a **folder of canonical Parquet tables** (``leads.parquet`` … or a folder of Parquet files
  per table): Dask reads them in pieces and shuffles every table on ``lead_id`` into the same
  number of partitions, so equal lead ids meet in the same part.

Either way the result is a list of lazy :class:`Part` objects; nothing reads a whole table
into one process. The folder must be readable by every worker (a shared volume on a cluster).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from leadscore.data.schemas import TIMESTAMP
from leadscore.errors import DataError, UsageError

if TYPE_CHECKING:
    from dask.delayed import Delayed

__all__ = [
    "LAYOUT_FILE",
    "PART_TABLES",
    "Part",
    "is_partitioned",
    "open_parts",
    "part_path",
    "write_layout",
    "write_part",
]

LAYOUT_FILE: Final = "partitions.json"
LAYOUT_VERSION: Final = 1
PART_TABLES: Final = ("leads", "touchpoints", "outcomes")
_TIMES: Final = {"leads": ("created_at",), "touchpoints": ("timestamp",)}
_TIMES_OUTCOMES: Final = ("converted_at", "lost_at")


@dataclass(frozen=True)
class Part:
    """The leads of one partition with all their touchpoints and outcomes."""

    leads: pl.DataFrame
    touchpoints: pl.DataFrame
    outcomes: pl.DataFrame


def part_path(root: Path, table: str, index: int) -> Path:
    """Where part ``index`` of ``table`` lives in a partitioned folder."""
    return root / table / f"part-{index:05d}.parquet"


def write_part(root: Path, index: int, tables: dict[str, pl.DataFrame]) -> dict[str, int]:
    """Write one part of every table (atomically, by rename); return the rows per table."""
    rows: dict[str, int] = {}
    for table, frame in tables.items():
        target = part_path(root, table, index)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        frame.write_parquet(tmp)
        tmp.replace(target)
        rows[table] = frame.height
    return rows


def write_layout(root: Path, parts: int, extra: dict[str, Any] | None = None) -> Path:
    """Mark ``root`` as a partitioned folder of ``parts`` parts (written last, so a folder
    with this file is complete)."""
    layout = {"layout_version": LAYOUT_VERSION, "key": "lead_id", "parts": parts}
    path = root / LAYOUT_FILE
    path.write_text(json.dumps({**layout, **(extra or {})}, indent=2, default=str) + "\n")
    return path


def is_partitioned(location: str | Path) -> bool:
    """Whether ``location`` is a partitioned folder."""
    return (Path(location) / LAYOUT_FILE).is_file()


def _layout_parts(root: Path) -> int:
    try:
        layout = json.loads((root / LAYOUT_FILE).read_text(encoding="utf-8"))
        parts = int(layout["parts"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{root / LAYOUT_FILE} is not a readable partition layout: {exc}") from exc
    if layout.get("layout_version") != LAYOUT_VERSION or parts < 1:
        raise DataError(
            f"{root / LAYOUT_FILE} describes layout version {layout.get('layout_version')!r} "
            f"with {parts} parts; this leadscore reads version {LAYOUT_VERSION}."
        )
    missing = [
        str(part_path(root, table, k))
        for table in PART_TABLES
        for k in range(parts)
        if not part_path(root, table, k).is_file()
    ]
    if missing:
        raise DataError(
            f"{root} is partitioned into {parts} parts but {len(missing)} part file(s) are "
            f"missing (first: {missing[0]}); write the data again."
        )
    return parts


def canonical(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``lead_id`` as text and its timestamps as UTC microseconds, the types
    the library's single-machine loaders give."""
    times = _TIMES_OUTCOMES if table == "outcomes" else _TIMES.get(table, ())
    casts = [pl.col("lead_id").cast(pl.String)]
    casts += [pl.col(c).cast(TIMESTAMP) for c in times if c in frame.columns]
    return frame.with_columns(casts)


def read_part(root: Path, index: int) -> Part:
    """Part ``index`` of a partitioned folder."""
    frames = {t: canonical(t, pl.read_parquet(part_path(root, t, index))) for t in PART_TABLES}
    return Part(**frames)


def _from_pandas(table: str, frame: Any) -> pl.DataFrame:
    return canonical(table, pl.from_pandas(frame.reset_index(drop=True)))


def part_from_pandas(leads: Any, touchpoints: Any, outcomes: Any) -> Part:
    """A part from the pandas partitions a Dask shuffle produced."""
    return Part(
        leads=_from_pandas("leads", leads),
        touchpoints=_from_pandas("touchpoints", touchpoints),
        outcomes=_from_pandas("outcomes", outcomes),
    )


def _table_source(root: Path, table: str) -> str:
    """The Parquet file or folder of one canonical table in an unpartitioned folder."""
    for candidate in (root / f"{table}.parquet", root / f"{table}.pq", root / table):
        if candidate.exists():
            return str(candidate)
    others = sorted(p.name for p in root.glob(f"{table}.*"))
    hint = (
        f" It holds {', '.join(others)}: the Dask path reads Parquet; write the tables as "
        "Parquet (`leadscore generate --format parquet`, or convert the CSV files)."
        if others
        else ""
    )
    raise DataError(f"{root}: no Parquet table {table!r} ({table}.parquet).{hint}")


def _shuffled(root: Path, parts: int | None, workers: int) -> list[Delayed]:
    import dask.dataframe as dd
    from dask.delayed import delayed

    frames = {t: dd.read_parquet(_table_source(root, t)) for t in PART_TABLES}
    count = parts or max(frames["touchpoints"].npartitions, workers)
    pieces: dict[str, Sequence[Delayed]] = {}
    for table, frame in frames.items():
        keyed = frame.assign(lead_id=frame["lead_id"].astype("string"))
        pieces[table] = keyed.shuffle(on="lead_id", npartitions=count).to_delayed()
    return [
        delayed(part_from_pandas, pure=True)(*trio)
        for trio in zip(pieces["leads"], pieces["touchpoints"], pieces["outcomes"], strict=True)
    ]


def open_parts(
    location: str | Path, *, parts: int | None = None, workers: int = 1
) -> list[Delayed]:
    """The lazy parts of the data at ``location`` (see the module docstring).

    ``parts`` sets the number of partitions of a shuffle (default: as many as Dask reads the
    touchpoints in, at least ``workers``); a partitioned folder keeps its own.
    """
    from dask.delayed import delayed

    root = Path(location).resolve()  # workers may run in another directory
    if not root.is_dir():
        raise UsageError(
            f"{location}: the Dask path reads a folder (a partitioned folder written by "
            "`leadscore generate --dask`, or leads/touchpoints/outcomes Parquet tables); "
            "no such folder."
        )
    if is_partitioned(root):
        count = _layout_parts(root)
        return [delayed(read_part, pure=True)(root, k) for k in range(count)]
    return _shuffled(root, parts, workers)
