"""Snapshots (lead, as_of) and their labels: the point-in-time examples of training.

* A lead is *open* at ``as_of`` when it was created before ``as_of`` and has neither converted
  nor been lost at or before ``as_of``. Only open leads are examples or get scored.
* The label of a snapshot is 1 when the lead converted in ``(as_of, as_of + horizon]``. A
  snapshot whose horizon reaches past the end of the observed data has no label yet (it is
  censored) and is left out of training and evaluation.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from leadscore.data.schemas import TIMESTAMP

__all__ = ["label_snapshots", "observed_until", "open_snapshots", "snapshot_grid"]

#: Up to this many (lead, time) pairs :func:`open_snapshots` checks without a query.
FEW_PAIRS = 64


def observed_until(
    leads: pl.DataFrame | pl.LazyFrame,
    touchpoints: pl.DataFrame | pl.LazyFrame,
    outcomes: pl.DataFrame | pl.LazyFrame,
) -> datetime:
    """The latest moment the data knows about: the last creation, touchpoint or outcome."""
    latest = pl.concat(
        [
            leads.lazy().select(pl.col("created_at").max().alias("t")),
            touchpoints.lazy().select(pl.col("timestamp").max().alias("t")),
            outcomes.lazy().select(pl.max_horizontal("converted_at", "lost_at").max().alias("t")),
        ]
    ).select(pl.col("t").cast(TIMESTAMP).max())
    value = latest.collect().item()
    if value is None:
        raise ValueError("the data holds no timestamp at all")
    assert isinstance(value, datetime)
    return value


def snapshot_grid(start: datetime, end: datetime, cadence_days: int) -> pl.Series:
    """Snapshot times from midnight UTC of ``start``'s day every ``cadence_days`` up to ``end``."""
    first = start.replace(hour=0, minute=0, second=0, microsecond=0)
    return pl.datetime_range(
        first, end, interval=f"{cadence_days}d", eager=True, time_zone="UTC", time_unit="us"
    ).alias("as_of")


def open_snapshots(
    leads: pl.DataFrame | pl.LazyFrame,
    outcomes: pl.DataFrame | pl.LazyFrame,
    as_of: pl.Series,
) -> pl.DataFrame:
    """Every (lead_id, as_of) where the lead is open at ``as_of``, sorted by as_of then lead.

    A few pairs (up to ``FEW_PAIRS`` leads × times, tables given as DataFrames) are checked
    in Python: for one lead, a query costs twenty times the check.
    """
    if (
        isinstance(leads, pl.DataFrame)
        and isinstance(outcomes, pl.DataFrame)
        and leads.height * as_of.len() <= FEW_PAIRS
    ):
        return _open_few(leads, outcomes, as_of)
    closed = (
        outcomes.lazy()
        .group_by("lead_id")
        .agg(closed_at=pl.min_horizontal("converted_at", "lost_at").min())
    )
    times = pl.DataFrame({"as_of": as_of.cast(TIMESTAMP)}).lazy()
    return (
        leads.lazy()
        .select(pl.col("lead_id").cast(pl.String), pl.col("created_at").cast(TIMESTAMP))
        .join(closed.with_columns(pl.col("lead_id").cast(pl.String)), on="lead_id", how="left")
        .join(times, how="cross")
        .filter(
            (pl.col("created_at") < pl.col("as_of"))
            & (pl.col("closed_at").is_null() | (pl.col("closed_at") > pl.col("as_of")))
        )
        .select("lead_id", "as_of")
        .sort("as_of", "lead_id")
        .collect()
    )


def _open_few(leads: pl.DataFrame, outcomes: pl.DataFrame, as_of: pl.Series) -> pl.DataFrame:
    """:func:`open_snapshots` of a few pairs: the same rule with the same nulls (a lead
    without ``created_at`` is never open; a time missing from an outcome closes nothing; a
    missing ``lead_id`` matches no outcome)."""
    closed: dict[str, datetime] = {}
    for lead, converted, lost in zip(
        outcomes.get_column("lead_id").cast(pl.String).to_list(),
        outcomes.get_column("converted_at").cast(TIMESTAMP).to_list(),
        outcomes.get_column("lost_at").cast(TIMESTAMP).to_list(),
        strict=True,
    ):
        for end in (converted, lost):
            if lead is not None and end is not None and (lead not in closed or end < closed[lead]):
                closed[lead] = end
    ids = leads.get_column("lead_id").cast(pl.String)
    created = leads.get_column("created_at").cast(TIMESTAMP).to_list()
    times = as_of.cast(TIMESTAMP)
    lead_ids = ids.to_list()
    pairs = [
        (time, lead is not None, lead or "", t, i)
        for t, time in enumerate(times.to_list())
        if time is not None
        for i, lead in enumerate(lead_ids)
        if created[i] is not None
        and created[i] < time
        and (lead is None or lead not in closed or closed[lead] > time)
    ]
    pairs.sort()
    return pl.DataFrame(
        [
            ids[[pair[4] for pair in pairs]].alias("lead_id"),
            times[[pair[3] for pair in pairs]].alias("as_of"),
        ]
    )


def label_snapshots(
    snapshots: pl.DataFrame,
    outcomes: pl.DataFrame | pl.LazyFrame,
    horizon_days: int,
    observed_end: datetime,
) -> pl.DataFrame:
    """``snapshots`` with ``label`` (0/1), keeping only those whose horizon is observed.

    The label uses only ``converted_at`` in ``(as_of, as_of + horizon]``.
    """
    horizon = timedelta(days=horizon_days)
    converted = (
        outcomes.lazy()
        .filter(pl.col("converted_at").is_not_null())
        .group_by(pl.col("lead_id").cast(pl.String))
        .agg(pl.col("converted_at").cast(TIMESTAMP).min())
    )
    return (
        snapshots.lazy()
        .filter(pl.col("as_of") + horizon <= observed_end)
        .join(converted, on="lead_id", how="left", maintain_order="left")
        .with_columns(
            label=(
                (pl.col("converted_at") > pl.col("as_of"))
                & (pl.col("converted_at") <= pl.col("as_of") + horizon)
            )
            .fill_null(False)
            .cast(pl.Int8)
        )
        .drop("converted_at")
        .collect()
    )
