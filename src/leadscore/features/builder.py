"""The one feature builder: (leads, touchpoints, snapshots) to the feature matrix.

Training, batch scoring, online scoring of one lead and the distributed path all call
:func:`build_features`; there is no second implementation. Point in time: a snapshot
``(lead_id, as_of)`` sees only touchpoints with ``timestamp < as_of`` (see
:mod:`leadscore.features.activity`) and the lead's own fields.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from leadscore.data.schemas import TIMESTAMP
from leadscore.errors import DataError
from leadscore.features.activity import (
    PER_DAY_US,
    activity_columns,
    activity_plan,
    float_frame,
    lead_pairs,
    micros,
    snapshot_events,
)
from leadscore.features.spec import FeatureSpec

__all__ = ["TOUCHPOINT_COLUMNS", "build_features"]

TOUCHPOINT_COLUMNS = ("lead_id", "timestamp", "action", "channel", "initiated_by")
#: Up to this many snapshots are built in one pass without estimating the join size.
SMALL_SNAPSHOTS = 50_000
#: Snapshot-by-event pairs per pass before leads are partitioned: each pair needs about
#: 100 bytes at the peak (its row numbers, age, codes and their temporaries).
JOIN_ROWS = 8_000_000


def _cast(frame: pl.DataFrame, dtypes: dict[str, pl.DataType]) -> pl.DataFrame:
    """``frame`` with the given columns cast, touching only those of another type (column by
    column, without planning a query)."""
    schema = frame.schema
    changed = [name for name, dtype in dtypes.items() if schema[name] != dtype]
    if not changed:
        return frame
    out = frame.clone()
    for name in changed:
        out.replace_column(out.get_column_index(name), out.get_column(name).cast(dtypes[name]))
    return out


def _lead_fields(leads: pl.DataFrame, spec: FeatureSpec) -> pl.DataFrame:
    columns = [name for name, _ in spec.lead_columns]
    missing = [name for name in ("created_at", *columns) if name not in leads.columns]
    if missing:
        raise DataError(
            f"The leads table has no column {', '.join(repr(m) for m in missing)}, "
            "which the feature spec uses; add it or remove it from the pipeline's features."
        )
    dtypes: dict[str, pl.DataType] = {"lead_id": pl.String(), "created_at": TIMESTAMP}
    for name, kind in spec.lead_columns:
        dtypes[name] = pl.String() if kind == "categorical" else pl.Float64()
    return _cast(leads[list(dtypes)], dtypes)  # lead_id and created_at first: see _features


def _lead_rows(snapshots: pl.DataFrame, fields: pl.DataFrame) -> np.ndarray:
    """The row of each snapshot's lead in ``fields``, in snapshot order.

    Raises DataError when a snapshot's lead is missing from the leads table or is there
    more than once.
    """
    row, index = lead_pairs(snapshots, fields)
    found = np.bincount(row, minlength=snapshots.height)
    if (found == 1).all():
        order = np.empty(snapshots.height, dtype=np.int64)
        order[row] = index
        return order
    unknown = snapshots["lead_id"].gather(np.flatnonzero(found == 0))
    if unknown.len():
        raise DataError(
            f"{unknown.len()} snapshot(s) name a lead_id missing from the leads table "
            f"(first: {unknown.head(5).to_list()})."
        )
    doubled = snapshots["lead_id"].gather(np.flatnonzero(found > 1)).unique(maintain_order=True)
    raise DataError(
        f"The leads table holds {doubled.len()} lead_id(s) more than once "
        f"(first: {doubled.head(5).to_list()}); each lead must be one row."
    )


def _features(
    fields: pl.DataFrame, touchpoints: pl.DataFrame, snapshots: pl.DataFrame, spec: FeatureSpec
) -> pl.DataFrame:
    """One pass: the snapshots with their lead's fields and the counts of earlier events."""
    plan = activity_plan(spec)
    columns = activity_columns(
        snapshot_events(snapshots, touchpoints, plan), snapshots.height, plan
    )
    order = _lead_rows(snapshots, fields)
    same = fields.height == len(order) and bool((order == np.arange(len(order))).all())
    lead = fields if same else fields[order]
    age = micros(snapshots["as_of"]) - micros(lead["created_at"])
    columns["lead_age_days"] = age.astype(np.float64) * PER_DAY_US
    if lead["created_at"].null_count():
        columns["lead_age_days"][lead["created_at"].is_null().to_numpy()] = np.nan
    numeric = ("lead_age_days", *plan.names)
    # hstack joins the columns as they are (a horizontal concat plans a query).
    return snapshots.hstack(
        [*lead[:, 2:].get_columns(), *float_frame(columns, numeric, snapshots.height).get_columns()]
    )


def _frame(table: pl.DataFrame | pl.LazyFrame, snapshots: pl.DataFrame) -> pl.DataFrame:
    """A table as a DataFrame, lazily filtered to the snapshots' leads when it is not one yet."""
    if isinstance(table, pl.DataFrame):
        return table
    wanted = snapshots[["lead_id"]].unique().lazy()
    return table.join(wanted, on="lead_id", how="semi").collect()


def _parts(touchpoints: pl.DataFrame, snapshots: pl.DataFrame) -> int:
    """How many lead partitions keep the snapshot-by-event pairs under ``JOIN_ROWS``."""
    if snapshots.height < SMALL_SNAPSHOTS:
        return 1
    most = snapshots.group_by("lead_id").len().select(pl.col("len").max()).item()
    if touchpoints.height * most <= JOIN_ROWS:  # a bound, cheap to compute
        return 1
    per_lead = touchpoints.group_by("lead_id").len()
    joined = (
        snapshots.join(per_lead, on="lead_id", how="left")
        .select(pl.col("len").fill_null(0).sum())
        .item()
    )
    return max(1, -(-int(joined) // JOIN_ROWS))


def _by_lead(table: pl.DataFrame, parts: int) -> dict[int, pl.DataFrame]:
    """``table`` split into ``parts`` partitions by a hash of ``lead_id``."""
    split = table.with_columns(_part=pl.col("lead_id").hash(seed=0) % parts)
    return {
        key: frame
        for (key,), frame in split.partition_by("_part", as_dict=True, include_key=False).items()
    }


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
    keyed = _cast(snapshots[["lead_id", "as_of"]], {"lead_id": pl.String(), "as_of": TIMESTAMP})
    events = _cast(_frame(touchpoints, keyed)[list(TOUCHPOINT_COLUMNS)], {"lead_id": pl.String()})
    fields = _lead_fields(_frame(leads, keyed), spec)
    parts = _parts(events, keyed)
    if parts == 1:
        frame = _features(fields, events, keyed, spec)
    else:
        # Each partition of snapshots meets only its own leads' events and fields.
        snapshot_parts = _by_lead(keyed.with_row_index("_row"), parts)
        event_parts = _by_lead(events, parts)
        field_parts = _by_lead(fields, parts)
        empty = events.clear()
        pieces = [
            _features(
                field_parts.get(key, fields.clear()),
                event_parts.get(key, empty),
                chunk[["lead_id", "as_of"]],
                spec,
            ).with_columns(chunk["_row"])
            for key, chunk in snapshot_parts.items()
        ]
        frame = pl.concat(pieces).sort("_row")
    return frame[["lead_id", "as_of", *names]]
