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
from leadscore.features.activity import activity_plan, days_between, snapshot_events
from leadscore.features.spec import FeatureSpec

__all__ = ["TOUCHPOINT_COLUMNS", "build_features"]

TOUCHPOINT_COLUMNS = ("lead_id", "timestamp", "action", "channel", "initiated_by")
#: Up to this many snapshots are built in one pass without estimating the join size.
SMALL_SNAPSHOTS = 50_000
#: Snapshot-by-event rows per pass (about 100 bytes each with their indicator columns)
#: before leads are partitioned.
JOIN_ROWS = 4_000_000


def _lead_fields(leads: pl.DataFrame, spec: FeatureSpec) -> pl.DataFrame:
    columns = [name for name, _ in spec.lead_columns]
    missing = [name for name in ("created_at", *columns) if name not in leads.columns]
    if missing:
        raise DataError(
            f"The leads table has no column {', '.join(repr(m) for m in missing)}, "
            "which the feature spec uses; add it or remove it from the pipeline's features."
        )
    return leads.select(
        pl.col("lead_id").cast(pl.String),
        pl.col("created_at").cast(TIMESTAMP),
        *(
            pl.col(name).cast(pl.String) if kind == "categorical" else pl.col(name).cast(pl.Float64)
            for name, kind in spec.lead_columns
        ),
    )


def _plan_features(
    leads: pl.DataFrame, touchpoints: pl.DataFrame, snapshots: pl.DataFrame, spec: FeatureSpec
) -> pl.DataFrame:
    """One pass: snapshots with their lead's fields and earlier events, grouped per snapshot.

    Eager on purpose: for one lead (online scoring) planning a lazy query costs more than
    running it; for large batches the work is the same.
    """
    plan = activity_plan(spec)
    keyed = snapshots.with_row_index("_row")
    exploded = snapshot_events(keyed, touchpoints).with_columns(plan.indicators)
    if snapshots.height == 1:
        # One snapshot is one group: the same aggregates over the whole frame, minus the
        # group-by's own cost (online scoring of one lead).
        per_snapshot = exploded.select(plan.aggregates)
    else:
        per_snapshot = exploded.group_by("_row").agg(plan.aggregates).sort("_row").drop("_row")
    del exploded
    fields = snapshots.join(leads, on="lead_id", how="left", maintain_order="left")
    return pl.concat([fields, per_snapshot], how="horizontal").with_columns(
        *plan.derived,
        lead_age_days=days_between(pl.col("created_at"), pl.col("as_of")),
    )


def _frame(table: pl.DataFrame | pl.LazyFrame, wanted: pl.DataFrame) -> pl.DataFrame:
    """A table as a DataFrame, lazily filtered to the wanted leads when it is not one yet."""
    if isinstance(table, pl.DataFrame):
        return table
    return table.join(wanted.lazy(), on="lead_id", how="semi").collect()


def _chunks(touchpoints: pl.DataFrame, snapshots: pl.DataFrame) -> int:
    """How many lead partitions keep the snapshot-by-event join under ``JOIN_ROWS``."""
    if snapshots.height < SMALL_SNAPSHOTS:
        return 1
    per_lead = touchpoints.group_by("lead_id").len()
    joined = (
        snapshots.join(per_lead, on="lead_id", how="left")
        .select(pl.col("len").fill_null(0).sum())
        .item()
    )
    return max(1, -(-int(joined) // JOIN_ROWS))


def build_features(
    leads: pl.DataFrame | pl.LazyFrame,
    touchpoints: pl.DataFrame | pl.LazyFrame,
    snapshots: pl.DataFrame,
    spec: FeatureSpec,
) -> pl.DataFrame:
    """The feature matrix of ``snapshots`` (``lead_id``, ``as_of``): one row each, same order.

    Columns: ``lead_id``, ``as_of``, then ``spec.feature_names()`` — numeric features as
    ``Float64`` (missing as null), categorical ones as ``String``. ``spec`` must be resolved.
    Many snapshots are processed in partitions of leads, so that memory stays bounded by
    the partition, not the data.
    """
    names = spec.feature_names()
    keyed = snapshots.select(pl.col("lead_id").cast(pl.String), pl.col("as_of").cast(TIMESTAMP))
    wanted = keyed.select("lead_id").unique()
    events = _frame(touchpoints, wanted).select(TOUCHPOINT_COLUMNS)
    if events.schema["lead_id"] != pl.String:
        events = events.with_columns(pl.col("lead_id").cast(pl.String))
    fields = _lead_fields(_frame(leads, wanted), spec)
    parts = _chunks(events, keyed)
    if parts == 1:
        frame = _plan_features(fields, events, keyed, spec)
    else:
        keyed = keyed.with_row_index("_row").with_columns(
            _part=pl.col("lead_id").hash(seed=0) % parts
        )
        pieces = [
            _plan_features(fields, events, chunk.select("lead_id", "as_of"), spec).with_columns(
                chunk["_row"]
            )
            for (_,), chunk in keyed.group_by("_part")
        ]
        frame = pl.concat(pieces).sort("_row")
    if frame["created_at"].null_count():
        unknown = frame.filter(pl.col("created_at").is_null())["lead_id"]
        raise DataError(
            f"{unknown.len()} snapshot(s) name a lead_id missing from the leads table "
            f"(first: {unknown.head(5).to_list()})."
        )
    return frame.select("lead_id", "as_of", *names)
