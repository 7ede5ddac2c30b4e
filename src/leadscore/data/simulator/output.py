"""Write a simulated run to a folder: the canonical tables and ``truth/``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import polars as pl

from leadscore.data.simulator.tables import Tables
from leadscore.data.simulator.world import ACTION_CHANNELS

__all__ = ["Format", "read_truth", "write_tables"]

Format = Literal["csv", "parquet"]

#: CSV timestamps as ISO 8601 in UTC with a ``Z`` (the simulator's times are whole seconds).
_CSV_DATETIME = "%Y-%m-%dT%H:%M:%SZ"


def _write(frame: pl.DataFrame, path: Path, fmt: Format) -> Path:
    target = path.with_suffix(f".{fmt}")
    tmp = target.with_name(f".{target.name}.tmp")
    if fmt == "csv":
        frame.write_csv(tmp, datetime_format=_CSV_DATETIME)
    else:
        frame.write_parquet(tmp)
    tmp.replace(target)
    return target


def write_tables(
    tables: Tables, out: Path, fmt: Format, manifest: dict[str, Any]
) -> dict[str, Path]:
    """Write leads, touchpoints, outcomes and the truth folder; return what was written where.

    Each file is written to a temporary name and renamed, so an interrupted run leaves no
    half-written table behind.
    """
    out.mkdir(parents=True, exist_ok=True)
    truth = out / "truth"
    truth.mkdir(exist_ok=True)
    written = {
        "leads": _write(tables.leads, out / "leads", fmt),
        "touchpoints": _write(tables.touchpoints, out / "touchpoints", fmt),
        "outcomes": _write(tables.outcomes, out / "outcomes", fmt),
        "truth/snapshots": _write(tables.truth, truth / "snapshots", fmt),
        "truth/company_touchpoints": _write(
            tables.company_touchpoints, truth / "company_touchpoints", fmt
        ),
    }
    actions = pl.DataFrame(
        {"touchpoint": list(ACTION_CHANNELS), "channel": list(ACTION_CHANNELS.values())}
    )
    written["truth/actions"] = _write(actions, truth / "actions", "csv")
    manifest_path = truth / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    written["truth/manifest"] = manifest_path
    return written


def read_truth(location: str | Path) -> pl.DataFrame | None:
    """The truth snapshots of a simulated folder, or ``None`` when it has no ``truth/``.

    ``as_of`` is read as UTC; everything else as written by :func:`write_tables`.
    """
    folder = Path(location) / "truth"
    for fmt in ("parquet", "csv"):
        path = folder / f"snapshots.{fmt}"
        if path.is_file():
            frame = pl.read_parquet(path) if fmt == "parquet" else pl.read_csv(path)
            return frame.with_columns(
                pl.col("lead_id").cast(pl.String),
                pl.col("as_of").cast(pl.String).str.to_datetime(time_zone="UTC", time_unit="us")
                if frame["as_of"].dtype == pl.String
                else pl.col("as_of").cast(pl.Datetime("us", "UTC")),
            )
    return None
