"""What ``generate``, ``train`` and ``score`` do with ``--dask``, as plain functions.

Each opens the client of the ``--dask`` value, runs on the cluster and closes it again; the
CLI only parses and renders.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from leadscore.cluster.client import dask_client, parse_dask
from leadscore.cluster.parts import is_partitioned, open_parts
from leadscore.cluster.scoring import score_on_cluster
from leadscore.cluster.simulate import write_partitioned_simulation
from leadscore.cluster.training import train_on_cluster
from leadscore.data.simulator import SimulationConfig, read_truth
from leadscore.settings import Settings
from leadscore.training.config import PipelineConfig, ScoringConfig
from leadscore.training.model import PropensityModel
from leadscore.training.propensity import Progress, TrainedPropensity, quiet
from leadscore.training.tracking import RunRecord, log_propensity_run

__all__ = ["generate_on_cluster", "score_location_on_cluster", "train_location_on_cluster"]


def _workers(client: Any) -> int:
    return max(1, len(client.scheduler_info().get("workers", {})))


def generate_on_cluster(
    dask: str,
    config: SimulationConfig,
    out: Path,
    *,
    parts: int | None = None,
    progress: Progress = quiet,
) -> dict[str, Any]:
    """Simulate on the cluster given by ``dask`` into a partitioned folder ``out``."""
    target = parse_dask(dask)
    progress(f"connecting to {target.describe()}")
    with dask_client(target) as client:
        progress("simulating chunks of leads on the workers")
        return write_partitioned_simulation(config, out, client, parts=parts)


def _truth(data: str) -> Any:
    """The truth snapshots of a simulated folder (a partitioned one's are read lazily)."""
    folder = Path(data)
    if not is_partitioned(folder):
        return read_truth(folder) if folder.is_dir() else None
    parts = sorted((folder / "truth" / "snapshots").glob("part-*.parquet"))
    if not parts:
        return None
    import polars as pl

    return pl.scan_parquet(parts).select("lead_id", "as_of", "p_true").collect()


def train_location_on_cluster(
    dask: str,
    data: str,
    config: PipelineConfig,
    *,
    settings: Settings,
    keep_columns: tuple[str, ...] = (),
    progress: Progress = quiet,
) -> tuple[TrainedPropensity, RunRecord]:
    """Train on the cluster on the data at ``data``, log the run to MLflow and register the
    model (as ``train_location`` does on one machine)."""
    target = parse_dask(dask)
    progress(f"connecting to {target.describe()}")
    with dask_client(target) as client:
        parts = open_parts(data, workers=_workers(client))
        result = train_on_cluster(
            client,
            parts,
            config,
            truth=_truth(data),
            keep_columns=keep_columns,
            progress=progress,
        )
    progress("logging the run to MLflow")
    record = log_propensity_run(result, settings=settings, data_location=data)
    return result, record


def score_location_on_cluster(
    dask: str,
    model: PropensityModel,
    data: str,
    config: ScoringConfig,
    out: Path,
    *,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """Score every open lead of ``data`` on the cluster into the partitioned folder ``out``."""
    with dask_client(parse_dask(dask)) as client:
        parts = open_parts(data, workers=_workers(client))
        return score_on_cluster(client, parts, model, config, out, as_of=as_of)
