"""Training examples of the event path: labelled point-in-time snapshots with their features."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from leadscore.errors import DataError
from leadscore.features import (
    FeatureSpec,
    build_features,
    label_snapshots,
    observed_until,
    open_snapshots,
    snapshot_grid,
)
from leadscore.training.config import PipelineConfig

__all__ = ["Examples", "build_examples"]


@dataclass(frozen=True)
class Examples:
    """``frame`` holds ``lead_id, as_of, label`` and the features of ``spec``, sorted by as_of."""

    frame: pl.DataFrame
    spec: FeatureSpec
    observed_end: datetime

    @property
    def labels(self) -> pl.Series:
        """The 0/1 labels."""
        return self.frame["label"]


def build_examples(
    leads: pl.DataFrame,
    touchpoints: pl.DataFrame,
    outcomes: pl.DataFrame,
    config: PipelineConfig,
    *,
    spec: FeatureSpec | None = None,
) -> Examples:
    """Snapshots of every open lead every ``cadence_days``, labelled, with their features.

    ``spec`` defaults to the pipeline's feature spec, resolved on these touchpoints.
    """
    if leads.is_empty():
        raise DataError("The leads table is empty: there is nothing to train on.")
    spec = spec or config.features.resolve(touchpoints)
    end = observed_until(leads, touchpoints, outcomes)
    start = leads["created_at"].min()
    assert isinstance(start, datetime)
    grid = snapshot_grid(start, end, config.snapshots.cadence_days)
    snapshots = open_snapshots(leads, outcomes, grid)
    labelled = label_snapshots(snapshots, outcomes, config.horizon_days, end)
    if labelled.is_empty():
        raise DataError(
            f"No snapshot has a full horizon of {config.horizon_days} days of observed data "
            f"(the data run from {start:%Y-%m-%d} to {end:%Y-%m-%d}); "
            "provide a longer history or shorten horizon_days in the pipeline."
        )
    features = build_features(leads, touchpoints, labelled.select("lead_id", "as_of"), spec)
    frame = pl.concat([labelled.select("label"), features], how="horizontal").select(
        "lead_id", "as_of", "label", *spec.feature_names()
    )
    return Examples(frame=frame, spec=spec, observed_end=end)
