"""Touchpoint features at a snapshot time, from the events strictly before it.

The contract (DESIGN.md, "Point in time"): the features of a snapshot ``(lead_id, as_of)``
use only touchpoints with ``timestamp < as_of``. A count over the window of ``w`` days is the
number of touchpoints with ``as_of - w days <= timestamp < as_of``; a recency is the time
from the last such touchpoint of a family to ``as_of`` in days.

How: each snapshot is joined to its lead's events, events at or after ``as_of`` are dropped,
and one group-by per snapshot computes every feature as a conditional aggregate
(:mod:`leadscore.features.builder` runs it). The expressions depend only on the spec and are
built once per spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from leadscore.features.spec import FeatureSpec

__all__ = ["ActivityPlan", "activity_plan", "days_between", "snapshot_events"]

_DAY_US = 86_400_000_000
#: Multiplying by the reciprocal (never dividing) gives the same bits for one row and many:
#: polars divides a column by a scalar as a multiplication by its reciprocal.
_PER_DAY_US = 1.0 / _DAY_US
_AGE = "_age_us"


def days_between(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """Days from ``start`` to ``end`` as a float (null when either is null)."""
    return (end - start).dt.total_microseconds().cast(pl.Float64) * _PER_DAY_US


@dataclass(frozen=True)
class ActivityPlan:
    """What the group-by per snapshot computes, built once per spec.

    ``indicators`` are 0/1 columns added to every event row; ``aggregates`` run over a
    snapshot's events (rows with a null ``timestamp`` stand for a
    snapshot without events and count nothing); ``derived`` turn them into the remaining
    features; ``names`` are the activity columns of the feature matrix, in order.
    """

    indicators: tuple[pl.Expr, ...]
    aggregates: tuple[pl.Expr, ...]
    derived: tuple[pl.Expr, ...]
    names: tuple[str, ...]


@lru_cache(maxsize=16)
def _plan(spec_json: str) -> ActivityPlan:
    spec = FeatureSpec.model_validate_json(spec_json)
    assert spec.actions is not None and spec.channels is not None
    age = pl.col(_AGE)
    channels = list(spec.channels)

    def count(condition: pl.Expr) -> pl.Expr:
        return condition.sum().cast(pl.Float64)

    # 0/1 columns computed once per event row; the aggregates only combine them.
    indicators: dict[str, pl.Expr] = {}
    for action in spec.actions:
        indicators[f"_a:{action}"] = pl.col("action") == action
    for channel in spec.channels:
        indicators[f"_c:{channel}"] = pl.col("channel") == channel
    for side in ("lead", "company"):
        indicators[f"_i:{side}"] = pl.col("initiated_by") == side
    for w in spec.windows_days:
        indicators[f"_w:{w}"] = age <= w * _DAY_US

    aggregates: dict[str, pl.Expr] = {}
    for w in spec.windows_days:
        inside = pl.col(f"_w:{w}")
        for action in spec.actions:
            aggregates[f"n_{action}_{w}d"] = count(pl.col(f"_a:{action}") & inside)
        for channel in spec.channels:
            aggregates[f"n_channel_{channel}_{w}d"] = count(pl.col(f"_c:{channel}") & inside)
        for side in ("lead", "company"):
            aggregates[f"n_{side}_initiated_{w}d"] = count(pl.col(f"_i:{side}") & inside)
    aggregates["n_lead_initiated_total"] = count(pl.col("_i:lead"))
    aggregates["n_company_initiated_total"] = count(pl.col("_i:company"))
    widest = max(spec.windows_days)
    known_channel = pl.col("channel").is_in(channels)
    aggregates[f"distinct_channels_{widest}d"] = (
        pl.col("channel")
        .filter(known_channel & (age <= widest * _DAY_US))
        .n_unique()
        .cast(pl.Float64)
    )
    aggregates["distinct_channels_total"] = (
        pl.col("channel").filter(known_channel).n_unique().cast(pl.Float64)
    )
    recent = spec.trend_recent_days * _DAY_US
    before = (spec.trend_recent_days + spec.trend_previous_days) * _DAY_US
    by_lead = pl.col("_i:lead")
    aggregates["_trend_recent"] = count(by_lead & (age <= recent))
    aggregates["_trend_previous"] = count(by_lead & (age > recent) & (age <= before))
    aggregates["trade_fair_contact"] = count(pl.col("channel") == spec.trade_fair_channel)
    aggregates["_last_any"] = pl.col("timestamp").max()
    for family, actions in spec.families.items():
        aggregates[f"_last_{family}"] = (
            pl.col("timestamp").filter(pl.col("action").is_in(list(actions))).max()
        )
    derived = (
        (
            pl.col("_trend_recent") * (1.0 / spec.trend_recent_days)
            - pl.col("_trend_previous") * (1.0 / spec.trend_previous_days)
        ).alias("engagement_trend"),
        days_between(pl.col("_last_any"), pl.col("as_of")).alias("days_since_last_touchpoint"),
        *(
            days_between(pl.col(f"_last_{family}"), pl.col("as_of")).alias(f"days_since_{family}")
            for family in spec.families
        ),
    )
    lead = {name for name, _ in spec.lead_columns} | {"lead_age_days"}
    names = tuple(info.name for info in spec.features() if info.name not in lead)
    return ActivityPlan(
        tuple(expr.alias(name) for name, expr in indicators.items()),
        tuple(expr.alias(name) for name, expr in aggregates.items()),
        derived,
        names,
    )


def activity_plan(spec: FeatureSpec) -> ActivityPlan:
    """The aggregates and derived expressions of ``spec``'s touchpoint features (cached)."""
    return _plan(spec.model_dump_json())


def snapshot_events(snapshots: pl.DataFrame, touchpoints: pl.DataFrame) -> pl.DataFrame:
    """Each snapshot (``_row``, ``lead_id``, ``as_of``) with its lead's events strictly
    before ``as_of`` and their age; the lead id is not carried along.

    Every snapshot also keeps one row of its own with null event columns, so that a snapshot
    without earlier events still gets its (zero) features.
    """
    events = touchpoints.select(
        "lead_id",
        "timestamp",
        *(pl.col(name).cast(pl.Categorical) for name in ("action", "channel", "initiated_by")),
    )
    columns = ("_row", "as_of", "timestamp", "action", "channel", "initiated_by")
    before = (
        snapshots.join(events, on="lead_id", how="inner")
        .filter(pl.col("timestamp") < pl.col("as_of"))
        .select(columns)
    )
    own = snapshots.select(
        "_row",
        "as_of",
        *(
            pl.lit(None, dtype=events.schema[name]).alias(name)
            for name in ("timestamp", "action", "channel", "initiated_by")
        ),
    )
    return pl.concat([own, before], how="vertical").with_columns(
        (pl.col("as_of") - pl.col("timestamp")).dt.total_microseconds().alias(_AGE)
    )
