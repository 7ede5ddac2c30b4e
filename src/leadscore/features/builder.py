"""The one feature builder: (leads, touchpoints, snapshots) to the feature matrix.

Training, batch scoring, online scoring of one lead and the distributed path all call
:func:`build_features`; there is no second implementation. Point in time: a snapshot
``(lead_id, as_of)`` sees only touchpoints with ``timestamp < as_of`` (see
:mod:`leadscore.features.activity`) and the lead's own fields.
"""

from __future__ import annotations

import polars as pl

from leadscore.data.schemas import TIMESTAMP
from leadscore.errors import DataError
from leadscore.features.activity import activity_features, days_between
from leadscore.features.spec import FeatureSpec

__all__ = ["TOUCHPOINT_COLUMNS", "build_features"]

TOUCHPOINT_COLUMNS = ("lead_id", "timestamp", "action", "channel", "initiated_by")


def _lead_features(leads: pl.LazyFrame, snapshots: pl.LazyFrame, spec: FeatureSpec) -> pl.LazyFrame:
    columns = [name for name, _ in spec.lead_columns]
    available = set(leads.collect_schema().names())
    missing = [name for name in ("created_at", *columns) if name not in available]
    if missing:
        raise DataError(
            f"The leads table has no column {', '.join(repr(m) for m in missing)}, "
            "which the feature spec uses; add it or remove it from the pipeline's features."
        )
    casts = [
        pl.col(name).cast(pl.String) if kind == "categorical" else pl.col(name).cast(pl.Float64)
        for name, kind in spec.lead_columns
    ]
    return (
        snapshots.join(
            leads.select(pl.col("lead_id").cast(pl.String), "created_at", *columns).with_columns(
                casts
            ),
            on="lead_id",
            how="left",
            maintain_order="left",
        )
        .with_columns(lead_age_days=days_between(pl.col("created_at"), pl.col("as_of")))
        .select("_row", "lead_id", "as_of", "created_at", "lead_age_days", *columns)
    )


def build_features(
    leads: pl.DataFrame | pl.LazyFrame,
    touchpoints: pl.DataFrame | pl.LazyFrame,
    snapshots: pl.DataFrame,
    spec: FeatureSpec,
) -> pl.DataFrame:
    """The feature matrix of ``snapshots`` (``lead_id``, ``as_of``): one row each, same order.

    Columns: ``lead_id``, ``as_of``, then ``spec.feature_names()`` — numeric features as
    ``Float64`` (missing as null), categorical ones as ``String``. ``spec`` must be resolved.
    The whole computation is one lazy plan, collected once.
    """
    names = spec.feature_names()
    ordered = (
        snapshots.lazy()
        .select(pl.col("lead_id").cast(pl.String), pl.col("as_of").cast(TIMESTAMP))
        .with_row_index("_row")
        .sort("as_of", maintain_order=True)
    )
    lead_part = _lead_features(leads.lazy(), ordered, spec)
    activity = activity_features(
        touchpoints.lazy()
        .select(TOUCHPOINT_COLUMNS)
        .with_columns(pl.col("lead_id").cast(pl.String)),
        ordered,
        spec,
    )
    frame = pl.concat([lead_part, activity.drop("_row")], how="horizontal").sort("_row").collect()
    unknown = frame.filter(pl.col("created_at").is_null())["lead_id"]
    if unknown.len():
        raise DataError(
            f"{unknown.len()} snapshot(s) name a lead_id missing from the leads table "
            f"(first: {unknown.head(5).to_list()})."
        )
    return frame.select("lead_id", "as_of", *names)
