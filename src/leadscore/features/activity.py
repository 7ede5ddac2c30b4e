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

__all__ = ["activity_features"]

_DAY_US = 86_400_000_000


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
    touchpoints: pl.LazyFrame, snapshots: pl.DataFrame, spec: FeatureSpec
) -> pl.DataFrame:
    """Touchpoint features for each row of ``snapshots`` (``lead_id``, ``as_of``), in its order.

    ``touchpoints`` needs ``lead_id, timestamp, action, channel, initiated_by``. The result has
    one row per snapshot and the touchpoint columns of ``spec.feature_names()``.
    """
    assert spec.actions is not None and spec.channels is not None
    n = snapshots.height
    counted = [*_indicators(spec), "first_channel"]
    carried = [*counted, *(f"t:{f}" for f in spec.families), "t:any"]
    leads = snapshots.lazy().select("lead_id").unique()
    events = _running(
        touchpoints.select("lead_id", "timestamp", "action", "channel", "initiated_by").join(
            leads, on="lead_id", how="semi"
        ),
        spec,
    ).select("lead_id", "timestamp", *carried)

    offsets = spec.offsets_days
    queries = pl.concat(
        [
            snapshots.lazy()
            .select("lead_id", "as_of")
            .with_row_index("_row")
            .with_columns(_k=pl.lit(k, pl.Int32), _q=pl.col("as_of") - timedelta(days=k))
            for k in offsets
        ]
    ).sort("_q")
    read = (
        queries.join_asof(
            events,
            left_on="_q",
            right_on="timestamp",
            by="lead_id",
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
        .with_columns(pl.col(counted).fill_null(0))
        .sort("_k", "_row")
        .collect()
    )
    at = {k: read.slice(i * n, n) for i, k in enumerate(offsets)}
    now = at[0]

    def window(column: str, days: int) -> pl.Series:
        return (now[column].cast(pl.Int64) - at[days][column].cast(pl.Int64)).cast(pl.Float64)

    def days_before_as_of(column: str) -> pl.Series:
        span = (now["as_of"] - now[column]).dt.total_microseconds()
        return (span.cast(pl.Float64) / _DAY_US).alias(column)

    out: dict[str, pl.Series] = {}
    for w in spec.windows_days:
        for action in spec.actions:
            out[f"n_{action}_{w}d"] = window(f"a:{action}", w)
        for channel in spec.channels:
            out[f"n_channel_{channel}_{w}d"] = window(f"c:{channel}", w)
        for side in ("lead", "company"):
            out[f"n_{side}_initiated_{w}d"] = window(f"i:{side}", w)
    out["n_lead_initiated_total"] = now["i:lead"].cast(pl.Float64)
    out["n_company_initiated_total"] = now["i:company"].cast(pl.Float64)
    widest = max(spec.windows_days)
    active = pl.DataFrame(
        [(window(f"c:{c}", widest) > 0).alias(c) for c in spec.channels], schema_overrides={}
    )
    out[f"distinct_channels_{widest}d"] = (
        active.sum_horizontal().cast(pl.Float64) if active.width else pl.Series([0.0] * n)
    )
    out["distinct_channels_total"] = now["first_channel"].cast(pl.Float64)
    recent = spec.trend_recent_days
    previous = spec.trend_previous_days
    lead_now = now["i:lead"].cast(pl.Float64)
    lead_recent = at[recent]["i:lead"].cast(pl.Float64)
    lead_before = at[recent + previous]["i:lead"].cast(pl.Float64)
    out["engagement_trend"] = (lead_now - lead_recent) / recent - (
        lead_recent - lead_before
    ) / previous
    fair = f"c:{spec.trade_fair_channel}"
    out["trade_fair_contact"] = (
        now[fair].cast(pl.Float64) if fair in now.columns else pl.Series([0.0] * n)
    )
    out["days_since_last_touchpoint"] = days_before_as_of("t:any")
    for family in spec.families:
        out[f"days_since_{family}"] = days_before_as_of(f"t:{family}")
    return pl.DataFrame([series.alias(name) for name, series in out.items()])
