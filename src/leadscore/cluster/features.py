"""Point-in-time examples and features on a cluster: the library's one feature builder,
:func:`leadscore.features.build_features`, applied to each part of the data.

A part holds all rows of its leads (:mod:`leadscore.cluster.parts`), and a snapshot's features
depend only on its own lead's rows, so the features of a part are exactly the rows the
single-machine builder gives for those snapshots. What depends on all the data — the first
creation and the end of the observed data (the snapshot grid and the censoring of labels)
and the touchpoint vocabularies — is reduced from small per-part summaries first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl

from leadscore.cluster.client import DaskClient
from leadscore.cluster.parts import Part
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

if TYPE_CHECKING:
    from dask.delayed import Delayed

__all__ = [
    "DataBounds",
    "data_bounds",
    "part_examples",
    "part_features",
    "resolve_spec",
]


@dataclass(frozen=True)
class PartSummary:
    """What one part contributes to the global bounds and vocabularies."""

    leads: int
    first_created: datetime | None
    last_seen: datetime | None
    actions: dict[str, int]
    channels: dict[str, int]


@dataclass(frozen=True)
class DataBounds:
    """The whole data's first creation, end of observation and touchpoint value counts."""

    leads: int
    first_created: datetime
    observed_end: datetime
    actions: dict[str, int]
    channels: dict[str, int]


def _counts(frame: pl.DataFrame, column: str) -> dict[str, int]:
    counts = frame[column].drop_nulls().value_counts()
    return dict(zip(counts[column].to_list(), counts["count"].to_list(), strict=True))


def summarize_part(part: Part) -> PartSummary:
    """The per-part figures :func:`data_bounds` reduces."""
    first = part.leads["created_at"].min() if part.leads.height else None
    try:
        last = observed_until(part.leads, part.touchpoints, part.outcomes)
    except ValueError:  # a part without any timestamp
        last = None
    assert first is None or isinstance(first, datetime)
    return PartSummary(
        leads=part.leads.height,
        first_created=first,
        last_seen=last,
        actions=_counts(part.touchpoints, "action"),
        channels=_counts(part.touchpoints, "channel"),
    )


def data_bounds(client: DaskClient, parts: list[Delayed]) -> DataBounds:
    """Reduce the parts' summaries (only these small objects reach the client)."""
    from dask.delayed import delayed

    summaries: list[PartSummary] = client.compute(
        [delayed(summarize_part, pure=True)(p) for p in parts], sync=True
    )
    firsts = [s.first_created for s in summaries if s.first_created is not None]
    lasts = [s.last_seen for s in summaries if s.last_seen is not None]
    if not firsts or not lasts:
        raise DataError("The leads table is empty: there is nothing to train on or score.")
    actions: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    for s in summaries:
        actions.update(s.actions)
        channels.update(s.channels)
    return DataBounds(
        leads=sum(s.leads for s in summaries),
        first_created=min(firsts),
        observed_end=max(lasts),
        actions=dict(actions),
        channels=dict(channels),
    )


def _vocabulary(counts: dict[str, int], size: int) -> tuple[str, ...]:
    """The ``size`` most frequent values (ties by name), sorted: the rule of
    :meth:`FeatureSpec.resolve`, applied to counts summed over the parts."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:size]
    return tuple(sorted(value for value, _ in ranked))


def resolve_spec(spec: FeatureSpec, bounds: DataBounds) -> FeatureSpec:
    """``spec`` with missing vocabularies fixed from the whole data's touchpoint counts."""
    if spec.is_resolved:
        return spec
    update: dict[str, tuple[str, ...]] = {}
    if spec.actions is None:
        update["actions"] = _vocabulary(bounds.actions, spec.max_vocabulary)
    if spec.channels is None:
        update["channels"] = _vocabulary(bounds.channels, spec.max_vocabulary)
    return spec.model_copy(update=update)


def part_examples(
    part: Part, spec: FeatureSpec, config: PipelineConfig, bounds: DataBounds
) -> pl.DataFrame:
    """The labelled training examples of one part, as
    :func:`leadscore.training.examples.build_examples` builds them for the whole data:
    ``lead_id, as_of, label`` and the features of ``spec``, sorted by as_of then lead."""
    grid = snapshot_grid(bounds.first_created, bounds.observed_end, config.snapshots.cadence_days)
    snapshots = open_snapshots(part.leads, part.outcomes, grid)
    labelled = label_snapshots(snapshots, part.outcomes, config.horizon_days, bounds.observed_end)
    features = build_features(
        part.leads, part.touchpoints, labelled.select("lead_id", "as_of"), spec
    )
    return pl.concat([labelled.select("label"), features], how="horizontal").select(
        "lead_id", "as_of", "label", *spec.feature_names()
    )


def part_features(part: Part, spec: FeatureSpec, as_of: datetime) -> pl.DataFrame:
    """The features of the part's leads open at ``as_of``."""
    times = pl.Series("as_of", [as_of]).cast(pl.Datetime("us", "UTC"))
    snapshots = open_snapshots(part.leads, part.outcomes, times)
    return build_features(part.leads, part.touchpoints, snapshots, spec)
