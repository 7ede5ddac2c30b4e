"""Touchpoint features at a snapshot time, from the events strictly before it.

The contract (DESIGN.md, "Point in time"): the features of a snapshot ``(lead_id, as_of)``
use only touchpoints with ``timestamp < as_of``. A count over the window of ``w`` days is the
number of touchpoints with ``as_of - w days <= timestamp < as_of``; a recency is the time
from the last such touchpoint of a family to ``as_of`` in days.

How: each snapshot is paired with its lead's events and the pairs at or after ``as_of``
are dropped (:func:`snapshot_events`). Every remaining event carries small integer codes:
its snapshot's row, its action, channel and initiator in the spec's vocabularies, and its
age bucket (the narrowest look-back offset that still contains it). One ``bincount`` per
vocabulary counts events per (bucket, value, snapshot); a cumulative sum over the buckets
turns those into the windowed counts, and every feature is read off these few arrays
(:func:`activity_columns`). The cost is a handful of passes over the events whatever the
number of features, and it is the same code for one snapshot and for millions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import polars as pl

from leadscore.data.schemas import TIMESTAMP
from leadscore.features.spec import FeatureSpec

__all__ = [
    "ActivityPlan",
    "SnapshotEvents",
    "activity_columns",
    "activity_plan",
    "enum_code",
    "enum_of",
    "float_frame",
    "lead_pairs",
    "looked_up",
    "micros",
    "snapshot_events",
]

DAY_US = 86_400_000_000
#: Days are microseconds times this reciprocal, for one row and for many alike.
PER_DAY_US = 1.0 / DAY_US
_SIDES = ("lead", "company")
_NONE = np.iinfo(np.int64).max
#: Up to this many snapshots :func:`float_frame` builds its frame row-wise.
ROW_WISE_ROWS = 32
#: Up to this many snapshots :func:`lead_pairs` compares lead ids instead of joining.
FEW_SNAPSHOTS = 8
#: Up to this many values are coded by :func:`looked_up` instead of :func:`enum_code`.
FEW_VALUES = 512

Ints = npt.NDArray[np.integer]
Floats = npt.NDArray[np.float64]


def micros(series: pl.Series) -> npt.NDArray[np.int64]:
    """Timestamps as microseconds since the epoch (UTC); nulls come out as the minimum int."""
    if series.dtype != TIMESTAMP:
        series = series.cast(TIMESTAMP)
    return series.to_numpy().view(np.int64)


def lead_pairs(snapshots: pl.DataFrame, table: pl.DataFrame) -> tuple[Ints, Ints]:
    """Every (snapshot row, table row) pair with the same ``lead_id`` (both ``String``).

    A few snapshots (up to ``FEW_SNAPSHOTS``) are matched by a comparison per lead, many by
    a join that carries only row numbers.
    """
    if snapshots.height <= FEW_SNAPSHOTS:
        ids = table["lead_id"]
        matches: dict[str, Ints] = {}
        rows: list[Ints] = []
        found: list[Ints] = []
        for row, lead in enumerate(snapshots["lead_id"].to_list()):
            if lead not in matches:
                same = ids.eq_missing(lead) if ids.null_count() else ids == lead
                matches[lead] = np.flatnonzero(same.to_numpy())
            found.append(matches[lead])
            rows.append(np.full(len(matches[lead]), row, dtype=np.int64))
        if len(found) == 1:
            return rows[0], found[0]
        empty = np.zeros(0, dtype=np.int64)
        return np.concatenate([empty, *rows]), np.concatenate([empty, *found])
    joined = (
        snapshots[["lead_id"]]
        .with_row_index("_row")
        .join(table[["lead_id"]].with_row_index("_other"), on="lead_id", how="inner")
    )
    return joined["_row"].to_numpy(), joined["_other"].to_numpy()


@dataclass(frozen=True)
class ActivityPlan:
    """The vocabularies and look-back offsets of a spec, fixed once per spec.

    ``actions`` and ``channels`` are the coded vocabularies (an event outside them gets the
    next code, which no count reads; the trade-fair channel is always coded). ``edges_us``
    are the look-back offsets in microseconds, ascending; ``trade_fair`` is the trade-fair
    channel's code; ``families`` gives, per action family, which action codes belong to it.
    ``names`` are the activity columns of the feature matrix, in order.
    """

    actions: tuple[str, ...]
    channels: tuple[str, ...]
    known_channels: int
    edges_us: npt.NDArray[np.int64]
    offsets_days: tuple[int, ...]
    windows_days: tuple[int, ...]
    trend_days: tuple[int, int]
    trade_fair: int
    families: tuple[tuple[str, npt.NDArray[np.bool_]], ...]
    names: tuple[str, ...]

    def codes(self, touchpoints: pl.DataFrame) -> tuple[Ints, Ints, Ints]:
        """Each touchpoint's action, channel and initiator code (one pass over them)."""
        if touchpoints.height <= FEW_VALUES:
            vocabularies = (self.actions, self.channels, _SIDES)
            action, channel, side = (
                np.array(
                    [len(known) if code is None else code for code in looked_up(values, known)],
                    dtype=np.int64,
                )
                for values, known in zip(
                    touchpoints[["action", "channel", "initiated_by"]].get_columns(),
                    vocabularies,
                    strict=True,
                )
            )
            return action, channel, side
        codes = touchpoints.select(_code_columns(self.actions, self.channels))
        action, channel, side = (series.to_numpy() for series in codes.get_columns())
        return action, channel, side


@lru_cache(maxsize=16)
def _code_columns(actions: tuple[str, ...], channels: tuple[str, ...]) -> tuple[pl.Expr, ...]:
    vocabularies = {"action": actions, "channel": channels, "initiated_by": _SIDES}
    return tuple(
        enum_code(name, vocabulary).fill_null(len(vocabulary)).alias(name)
        for name, vocabulary in vocabularies.items()
    )


def enum_code(column: str, vocabulary: tuple[str, ...]) -> pl.Expr:
    """The place of the column's value in ``vocabulary``; null for any other or no value."""
    return pl.col(column).cast(pl.String).cast(enum_of(vocabulary), strict=False).to_physical()


def looked_up(values: pl.Series, vocabulary: tuple[str, ...]) -> list[int | None]:
    """The place of each value in ``vocabulary``, ``len(vocabulary)`` for any other value and
    None for no value, looked up in Python.

    :func:`enum_code` gives the same places with a query; for a few values (up to
    ``FEW_VALUES``: one lead's touchpoints) the query costs many times the lookup.
    """
    places = _places(vocabulary)
    other = len(vocabulary)
    return [None if v is None else places.get(v, other) for v in values.cast(pl.String).to_list()]


@lru_cache(maxsize=256)
def _places(vocabulary: tuple[str, ...]) -> dict[str, int]:
    return {value: place for place, value in enumerate(vocabulary)}


@lru_cache(maxsize=16)
def _plan(spec_json: str) -> ActivityPlan:
    spec = FeatureSpec.model_validate_json(spec_json)
    assert spec.actions is not None and spec.channels is not None
    channels = spec.channels
    if spec.trade_fair_channel not in channels:
        channels = (*channels, spec.trade_fair_channel)
    offsets = tuple(day for day in spec.offsets_days if day > 0)
    families = tuple(
        (family, np.array([a in members for a in (*spec.actions, None)], dtype=np.bool_))
        for family, members in spec.families.items()
    )
    lead = {name for name, _ in spec.lead_columns} | {"lead_age_days"}
    return ActivityPlan(
        actions=spec.actions,
        channels=channels,
        known_channels=len(spec.channels),
        edges_us=np.array([day * DAY_US for day in offsets], dtype=np.int64),
        offsets_days=offsets,
        windows_days=spec.windows_days,
        trend_days=(spec.trend_recent_days, spec.trend_previous_days),
        trade_fair=channels.index(spec.trade_fair_channel),
        families=families,
        names=tuple(info.name for info in spec.features() if info.name not in lead),
    )


def activity_plan(spec: FeatureSpec) -> ActivityPlan:
    """The coded vocabularies and offsets of ``spec``'s touchpoint features (cached)."""
    return _plan(spec.model_dump_json())


@dataclass(frozen=True)
class SnapshotEvents:
    """The events strictly before each snapshot, one entry per (snapshot, event) pair.

    ``row`` is the snapshot's row, ``age`` the time from the event to ``as_of`` in
    microseconds (always > 0), ``action``, ``channel`` and ``side`` the event's codes.
    """

    row: Ints
    age: npt.NDArray[np.int64]
    action: Ints
    channel: Ints
    side: Ints


def snapshot_events(
    snapshots: pl.DataFrame, touchpoints: pl.DataFrame, plan: ActivityPlan
) -> SnapshotEvents:
    """Pair each snapshot (``lead_id``, ``as_of``) with its lead's events before ``as_of``."""
    row, event = lead_pairs(snapshots, touchpoints)
    age = micros(snapshots["as_of"])[row]
    age -= micros(touchpoints["timestamp"])[event]
    before = age > 0
    if not before.all():
        row, event, age = row[before], event[before], age[before]
    action, channel, side = plan.codes(touchpoints)
    return SnapshotEvents(row, age, action[event], channel[event], side[event])


def _cumulative(
    events: SnapshotEvents, code: Ints, bucket: Ints, shape: tuple[int, int, int]
) -> Floats:
    """Events per (offset slot, code, snapshot), summed over the slots up to each one.

    ``bucket`` is each event's offset slot (the last slot holds every event older than the
    widest offset), so slot ``k`` of the result counts the events no older than offset
    ``k`` and the last slot counts them all. The snapshot axis is the last one: every
    feature column is a contiguous row of the result.
    """
    width, values, rows = shape
    index = bucket * values  # one temporary, updated in place: fresh memory is not free
    index += code
    index *= rows
    index += events.row
    # Weights make the counts float64 at once (exact below 2**53).
    counts: Floats = np.bincount(
        index, weights=np.ones(len(index)), minlength=width * values * rows
    ).astype(np.float64, copy=False)
    del index
    counts = counts.reshape(shape)
    np.cumsum(counts, axis=0, out=counts)
    return counts


def activity_columns(events: SnapshotEvents, rows: int, plan: ActivityPlan) -> dict[str, Floats]:
    """The activity columns (``plan.names``) of ``rows`` snapshots from their events,
    each a float array in snapshot-row order; a recency without any event is NaN."""
    # The narrowest offset with age <= offset; len(offsets) for older events.
    bucket = np.searchsorted(plan.edges_us, events.age, side="left")
    width = len(plan.edges_us) + 1
    slot = {day: k for k, day in enumerate(plan.offsets_days)}
    everything = width - 1
    actions = _cumulative(events, events.action, bucket, (width, len(plan.actions) + 1, rows))
    channels = _cumulative(events, events.channel, bucket, (width, len(plan.channels) + 1, rows))
    sides = _cumulative(events, events.side, bucket, (width, len(_SIDES) + 1, rows))
    del bucket

    columns: dict[str, Floats] = {}
    for day in plan.windows_days:
        k = slot[day]
        for a, name in enumerate(plan.actions):
            columns[f"n_{name}_{day}d"] = actions[k, a]
        for c, name in enumerate(plan.channels[: plan.known_channels]):
            columns[f"n_channel_{name}_{day}d"] = channels[k, c]
        for s, name in enumerate(_SIDES):
            columns[f"n_{name}_initiated_{day}d"] = sides[k, s]
    for s, name in enumerate(_SIDES):
        columns[f"n_{name}_initiated_total"] = sides[everything, s]
    known = channels[:, : plan.known_channels]
    widest = max(plan.windows_days)
    columns[f"distinct_channels_{widest}d"] = (known[slot[widest]] > 0).sum(
        axis=0, dtype=np.float64
    )
    columns["distinct_channels_total"] = (known[everything] > 0).sum(axis=0, dtype=np.float64)
    recent_days, previous_days = plan.trend_days
    recent = sides[slot[recent_days], 0]
    previous = sides[slot[recent_days + previous_days], 0] - recent
    columns["engagement_trend"] = recent * (1.0 / recent_days) - previous * (1.0 / previous_days)
    columns["trade_fair_contact"] = channels[everything, plan.trade_fair]

    # The youngest event per (action code, snapshot) in one pass; a family's recency is
    # the youngest over its actions.
    youngest = np.full((len(plan.actions) + 1, rows), _NONE, dtype=np.int64)
    index = events.action.astype(np.int64)
    index *= rows
    index += events.row
    np.minimum.at(youngest.reshape(-1), index, events.age)
    del index
    recency = {"days_since_last_touchpoint": np.ones(len(plan.actions) + 1, dtype=np.bool_)}
    recency |= {f"days_since_{family}": members for family, members in plan.families}
    for name, members in recency.items():
        last = youngest[members].min(axis=0, initial=_NONE)
        days = last * PER_DAY_US
        days[last == _NONE] = np.nan
        columns[name] = days
    return columns


def float_frame(columns: dict[str, Floats], names: tuple[str, ...], rows: int) -> pl.DataFrame:
    """A ``Float64`` frame of the named columns, NaN as null.

    Up to ``ROW_WISE_ROWS`` rows are built row-wise (for a lead or two, a column at a time
    costs more than the rows themselves).
    """
    if rows > ROW_WISE_ROWS:
        return pl.DataFrame([pl.Series(name, columns[name], nan_to_null=True) for name in names])
    matrix = np.column_stack([columns[name] for name in names]) if names else np.empty((rows, 0))
    empty = np.isnan(matrix).all(axis=0)
    values = [[None if math.isnan(v) else v for v in row] for row in matrix.tolist()]
    # Only the columns without any value need their type spelled out.
    typed = {names[i]: pl.Float64 for i in np.flatnonzero(empty).tolist()}
    return pl.DataFrame(values, schema=names, schema_overrides=typed, orient="row")


@lru_cache(maxsize=256)
def enum_of(categories: tuple[str, ...]) -> pl.Enum:
    """The enum type of these categories (cached: building one costs more than using it)."""
    return pl.Enum(categories)
