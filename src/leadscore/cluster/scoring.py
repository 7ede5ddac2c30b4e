"""Batch scoring on a Dask cluster: the library's scoring function applied to each part.

Every part is scored by :func:`leadscore.scoring.score.score_leads` — which builds features
with the one feature builder and calls ``score_snapshots`` — at one ``as_of`` for all parts
(default: the end of the whole data), and written by its worker as one Parquet file of a
partitioned result folder. A lead's score, trend and reasons depend only on its own rows, so
each part's rows equal the single-machine result's rows for those leads; only the order
differs (each file is sorted by probability).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from leadscore.cluster.client import DaskClient
from leadscore.cluster.features import data_bounds
from leadscore.cluster.parts import Part
from leadscore.errors import UsageError
from leadscore.scoring.score import score_leads
from leadscore.training.config import ScoringConfig
from leadscore.training.model import PropensityModel

if TYPE_CHECKING:
    from dask.delayed import Delayed

__all__ = ["score_on_cluster", "score_part"]


def score_part(
    part: Part, model: PropensityModel, config: ScoringConfig, as_of: datetime
) -> pl.DataFrame:
    """The scores of the part's leads open at ``as_of`` (``score_leads`` on the part)."""
    return score_leads(model, part.leads, part.touchpoints, part.outcomes, config, as_of=as_of)


def _write_scores(
    part: Part, model: PropensityModel, config: ScoringConfig, as_of: datetime, path: Path
) -> dict[str, Any]:
    scores = score_part(part, model, config, as_of)
    tmp = path.with_name(f".{path.name}.tmp")
    scores.write_parquet(tmp)
    tmp.replace(path)
    grades = scores["grade"].value_counts()
    return {
        "rows": scores.height,
        "grades": dict(zip(grades["grade"].to_list(), grades["count"].to_list(), strict=True)),
    }


def _output_folder(out: Path) -> Path:
    if out.suffix:
        raise UsageError(
            f"--out {out}: with --dask the scores are written as a folder of Parquet parts; "
            "give a folder name without a suffix."
        )
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder.")
    if out.is_dir():
        stale = sorted(out.glob("part-*.parquet"))
        for path in stale:
            path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return out.resolve()  # workers may run in another directory


def score_on_cluster(
    client: DaskClient,
    parts: list[Delayed],
    model: PropensityModel,
    config: ScoringConfig,
    out: Path,
    *,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """Score every lead open at ``as_of`` into ``out/part-00000.parquet`` …; returns the
    number of scored leads, their grades, ``as_of`` and the folder."""
    from dask.delayed import delayed

    folder = _output_folder(out)
    when = as_of or data_bounds(client, parts).observed_end
    shared = client.scatter(model, broadcast=True, hash=False)
    tasks = [
        delayed(_write_scores)(part, shared, config, when, folder / f"part-{k:05d}.parquet")
        for k, part in enumerate(parts)
    ]
    written: list[dict[str, Any]] = client.compute(tasks, sync=True)
    grades: dict[str, int] = {}
    for facts in written:
        for grade, count in facts["grades"].items():
            grades[grade] = grades.get(grade, 0) + count
    return {
        "leads": sum(f["rows"] for f in written),
        "as_of": when.isoformat(),
        "grades": dict(sorted(grades.items())),
        "out": str(folder),
        "parts": len(parts),
    }
