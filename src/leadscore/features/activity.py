"""Touchpoint features at a snapshot time, from cumulative counts read strictly before it.

The contract (DESIGN.md, "Point in time"): the features of a snapshot ``(lead_id, as_of)``
use only touchpoints with ``timestamp < as_of``. A count over the window of ``w`` days is the
number of touchpoints with ``as_of - w <= timestamp < as_of``.

How: the lead's events are sorted by time and carry running counts (per action, channel and
initiator) and the time of the last event of each family. For each look-back offset ``k``
(0, the windows, the trend boundaries) an as-of join reads these running values at the last
event *strictly before* ``as_of - k``; a window count is then a difference of two reads. The
work grows with events plus snapshots, not with their product, so many snapshots per lead
(training) cost little more than one (scoring).
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from leadscore.features.spec import FeatureSpec

__all__ = ["activity_features", "days_between"]

_DAY_US = 86_400_000_000
#: Multiplying by the reciprocal (never dividing) gives the same bits for one row and many:
#: polars divides a column by a scalar as a multiplication by its reciprocal.
_PER_DAY_US = 1.0 / _DAY_US


def days_between(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """Days from ``start`` to ``end`` as a float (null when either is null)."""
    return (end - start).dt.total_microseconds().cast(pl.Float64) * _PER_DAY_US


def _indicators(spec: FeatureSpec) -> dict[str, pl.Expr]:
    """The 0/1 columns whose running sums the features read."""
    assert spec.actions is not None and spec.channels is not None
    columns: dict[str, pl.Expr] = {}
    for action in spec.actions:
        columns[f"a:{action}"] = pl.col("action") == action
    for channel in spec.channels:
        columns[f"c:{channel}"] = pl.col("channel") == channel
    columns["i:lead"] = pl.col("initiated_by") == "lead"
    columns["i:company"] = pl.col("initiated_by") == "company"
    return columns


def _first_of_channel(spec: FeatureSpec) -> dict[str, pl.Expr]:
    """1 on a lead's first event on each channel: their running sum counts distinct channels."""
    assert spec.channels is not None
    return {
        "first_channel": (
            pl.col("channel").is_in(list(spec.channels))
            & pl.col("channel").is_first_distinct().over("lead_id")
        )
    }


def _running(events: pl.LazyFrame, spec: FeatureSpec) -> pl.LazyFrame:
    """Events sorted by lead and time with running counts and last-seen times."""
    counted = {**_indicators(spec), **_first_of_channel(spec)}
    last_seen = {
        f"t:{family}": pl.when(pl.col("action").is_in(list(actions)))
        .then(pl.col("timestamp"))
        .otherwise(None)
        .forward_fill()
        .over("lead_id")
        for family, actions in spec.families.items()
    }
    return (
        events.sort("lead_id", "timestamp")
        .with_columns(**{name: expr.cast(pl.UInt32) for name, expr in counted.items()})
        .with_columns(
            *(pl.col(name).cum_sum().over("lead_id") for name in counted),
            **last_seen,
            **{"t:any": pl.col("timestamp")},
        )
    )


def activity_features(
    touchpoints: pl.LazyFrame, snapshots: pl.LazyFrame, spec: FeatureSpec
) -> pl.LazyFrame:
    """Touchpoint features of each row of ``snapshots`` (``lead_id``, ``as_of``, ``_row``).

    ``snapshots`` must be sorted by ``as_of``; the result keeps its rows and order, with
    ``_row`` and the touchpoint columns of ``spec.feature_names()``. ``touchpoints`` needs
    ``lead_id, timestamp, action, channel, initiated_by``. Nothing is collected here: the
    caller runs the whole plan at once (one pass over the data, little overhead for one lead).
    """
    assert spec.actions is not None and spec.channels is not None
    counted = [*_indicators(spec), "first_channel"]
    carried = [*counted, *(f"t:{f}" for f in spec.families), "t:any"]
    events = _running(
        touchpoints.select("lead_id", "timestamp", "action", "channel", "initiated_by").join(
            snapshots.select("lead_id").unique(), on="lead_id", how="semi"
        ),
        spec,
    ).select("lead_id", "timestamp", *carried)

    reads = []
    for k in spec.offsets_days:
        read = (
            snapshots.select("lead_id", "as_of", "_row")
            .with_columns(_q=pl.col("as_of") - timedelta(days=k))
            .join_asof(
                events,
                left_on="_q",
                right_on="timestamp",
                by="lead_id",
                strategy="backward",
                allow_exact_matches=False,
                check_sortedness=False,
            )
            .select(
                *(pl.col(c).fill_null(0).cast(pl.Int64).alias(f"{c}@{k}") for c in counted),
                *(pl.col(c).alias(f"{c}@{k}") for c in carried if c not in counted),
            )
        )
        reads.append(read)
    base = snapshots.select("_row", "as_of")
    joined = pl.concat([base, *reads], how="horizontal")

    def window(column: str, days: int) -> pl.Expr:
        return (pl.col(f"{column}@0") - pl.col(f"{column}@{days}")).cast(pl.Float64)

    def days_before_as_of(column: str) -> pl.Expr:
        return days_between(pl.col(f"{column}@0"), pl.col("as_of"))

    out: dict[str, pl.Expr] = {}
    for w in spec.windows_days:
        for action in spec.actions:
            out[f"n_{action}_{w}d"] = window(f"a:{action}", w)
        for channel in spec.channels:
            out[f"n_channel_{channel}_{w}d"] = window(f"c:{channel}", w)
        for side in ("lead", "company"):
            out[f"n_{side}_initiated_{w}d"] = window(f"i:{side}", w)
    out["n_lead_initiated_total"] = pl.col("i:lead@0").cast(pl.Float64)
    out["n_company_initiated_total"] = pl.col("i:company@0").cast(pl.Float64)
    widest = max(spec.windows_days)
    out[f"distinct_channels_{widest}d"] = pl.sum_horizontal(
        pl.lit(0.0), *((window(f"c:{c}", widest) > 0).cast(pl.Float64) for c in spec.channels)
    )
    out["distinct_channels_total"] = pl.col("first_channel@0").cast(pl.Float64)
    recent = spec.trend_recent_days
    previous = spec.trend_previous_days
    now = pl.col("i:lead@0").cast(pl.Float64)
    then = pl.col(f"i:lead@{recent}").cast(pl.Float64)
    before = pl.col(f"i:lead@{recent + previous}").cast(pl.Float64)
    out["engagement_trend"] = (now - then) * (1.0 / recent) - (then - before) * (1.0 / previous)
    fair = f"c:{spec.trade_fair_channel}"
    out["trade_fair_contact"] = (
        pl.col(f"{fair}@0").cast(pl.Float64) if fair in counted else pl.lit(0.0)
    )
    out["days_since_last_touchpoint"] = days_before_as_of("t:any")
    for family in spec.families:
        out[f"days_since_{family}"] = days_before_as_of(f"t:{family}")
    return joined.select("_row", **out)
