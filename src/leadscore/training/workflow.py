"""What ``leadscore train``, ``evaluate`` and ``promote`` do, as plain functions.

Each reads its inputs from a location (a data folder, a flat file, an MLflow reference),
calls the library and returns a JSON-ready dictionary; the CLI only renders it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from sklearn.metrics import roc_auc_score

from leadscore.data import load_dataset
from leadscore.data.flat import read_flat_table
from leadscore.data.simulator import read_truth
from leadscore.errors import DataError, UsageError
from leadscore.features import build_features
from leadscore.settings import Settings
from leadscore.training.config import PipelineConfig
from leadscore.training.examples import build_examples
from leadscore.training.flat_training import train_flat
from leadscore.training.model import PropensityModel
from leadscore.training.propensity import (
    Progress,
    TrainedPropensity,
    assess_examples,
    quiet,
    train_propensity,
)
from leadscore.training.registry import Promotion, candidate_holdout, promote
from leadscore.training.tracking import RunRecord, load_propensity, log_propensity_run

__all__ = [
    "FlatOptions",
    "evaluate_location",
    "promote_run",
    "train_location",
    "train_summary",
]


class FlatOptions:
    """The flat-table options of ``leadscore train`` (``--target`` selects the flat path)."""

    def __init__(
        self,
        target: str,
        *,
        id_column: str | None = None,
        positive: str | None = None,
        exclude: Sequence[str] = (),
        time_column: str | None = None,
    ) -> None:
        self.target = target
        self.id_column = id_column
        self.positive = positive
        self.exclude = tuple(exclude)
        self.time_column = time_column


def _local_truth(data: str) -> pl.DataFrame | None:
    path = Path(data)
    return read_truth(path) if path.is_dir() else None


def train_summary(result: TrainedPropensity, record: RunRecord) -> dict[str, Any]:
    """The result of ``train --json``: run, model, metrics, baseline, oracle and checks."""
    assessment = result.assessment
    out: dict[str, Any] = {
        "run_id": record.run_id,
        "model_uri": record.model_uri,
        "version": record.version,
        "metrics": assessment.metrics,
        "baseline": assessment.baseline,
    }
    if assessment.oracle is not None:
        out["oracle"] = assessment.oracle
    out["readiness"] = assessment.verdict.to_dict()
    out |= result.leakage.to_dict()
    out["split"] = result.split.to_dict()
    out["test_rows"] = assessment.rows
    out["test_positives"] = assessment.positives
    out["calibration_by_segment"] = assessment.segments.to_dicts()
    out |= result.notes
    return out


def train_location(
    data: str,
    config: PipelineConfig,
    *,
    settings: Settings,
    flat: FlatOptions | None = None,
    keep_columns: Sequence[str] = (),
    progress: Progress = quiet,
) -> tuple[TrainedPropensity, RunRecord]:
    """Train on the data at ``data`` (canonical tables, or a flat file with ``flat``), log the
    run to MLflow and register the model."""
    if flat is None:
        progress("loading and validating the data")
        dataset = load_dataset(data)
        result = train_propensity(
            dataset.leads,
            dataset.touchpoints,
            dataset.outcomes,
            config,
            truth=_local_truth(data),
            keep_columns=keep_columns,
            progress=progress,
        )
    else:
        progress("reading the flat table")
        result, _ = train_flat(
            read_flat_table(data),
            config,
            target=flat.target,
            id_column=flat.id_column,
            positive=flat.positive,
            exclude=flat.exclude,
            keep_columns=keep_columns,
            time_column=flat.time_column,
            progress=progress,
        )
    progress("logging the run to MLflow")
    record = log_propensity_run(result, settings=settings, data_location=data)
    return result, record


def evaluate_location(
    model_reference: str,
    data: str,
    *,
    settings: Settings,
    config: PipelineConfig,
    since: datetime | None = None,
    progress: Progress = quiet,
) -> dict[str, Any]:
    """Assess any registered or logged model on the labelled snapshots of any data.

    Snapshots are taken like training's (every ``cadence_days``, labelled over the horizon);
    ``since`` keeps only those from that time on (use the test start of the model's training
    run to evaluate on unseen snapshots of the same data).
    """
    progress("loading the model")
    loaded = load_propensity(model_reference, settings)
    model = loaded.model
    if model.spec_ is None:
        raise UsageError(
            "This model was trained on a flat lead table; evaluate it by training with "
            "--target on the new table (its test split is reported) — flat evaluation of "
            "stored models is not supported yet."
        )
    progress("loading and validating the data")
    dataset = load_dataset(data)
    progress("building snapshots and features")
    examples = build_examples(
        dataset.leads, dataset.touchpoints, dataset.outcomes, config, spec=model.spec_
    ).frame
    if since is not None:
        examples = examples.filter(pl.col("as_of") >= since)
    if examples.is_empty() or examples["label"].n_unique() < 2:
        raise DataError(
            f"{data}: the labelled snapshots{' since ' + since.isoformat() if since else ''} "
            "hold no conversions or no non-conversions, so the model cannot be assessed."
        )
    progress("scoring and assessing")
    _, assessment = assess_examples(model, examples, truth=_local_truth(data))
    return {"model_uri": loaded.uri, "version": loaded.version, "run_id": loaded.run_id} | (
        assessment.to_dict()
    )


def _holdout_scorer(data: str, snapshots: pl.DataFrame) -> Callable[[PropensityModel], float]:
    """The champion's ROC AUC on the candidate's test snapshots, rebuilt from ``data``."""
    cache: dict[str, Any] = {}

    def champion_auc(champion: PropensityModel) -> float:
        if champion.spec_ is None:
            raise UsageError(
                "The champion was trained on a flat table and cannot be scored on event data; "
                "use --force --reason to replace it."
            )
        if "dataset" not in cache:
            cache["dataset"] = load_dataset(data)
        dataset = cache["dataset"]
        features = build_features(
            dataset.leads, dataset.touchpoints, snapshots.select("lead_id", "as_of"), champion.spec_
        )
        probability = champion.predict_proba(features)
        return float(roc_auc_score(snapshots["label"].to_numpy(), probability))

    return champion_auc


def promote_run(
    run_id: str,
    *,
    settings: Settings,
    data: str | None = None,
    force: bool = False,
    reason: str | None = None,
) -> Promotion:
    """Promote a run's model to champion if it beats the champion on the same holdout.

    The champion is scored on the candidate's test snapshots, rebuilt from ``data`` (default:
    the data the candidate was trained on, when that is still there).
    """
    holdout = None
    if not force:
        candidate = candidate_holdout(run_id, settings=settings)
        location = data or candidate.data_location
        if location is not None and (data is not None or Path(location).exists()):
            snapshots = candidate.snapshots
            if snapshots["as_of"].null_count() == 0:
                holdout = _holdout_scorer(location, snapshots)
    return promote(run_id, settings=settings, force=force, reason=reason, holdout=holdout)
