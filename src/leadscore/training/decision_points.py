"""Decision points of the next-best-touchpoint model: (lead, as_of), what the company did, outcome.

Point in time, as for the propensity model:

* the lead's **state** is the feature row of :func:`leadscore.features.build_features` at
  ``as_of`` — only touchpoints with ``timestamp < as_of`` count;
* the **treatment** is the first actionable company-initiated touchpoint with
  ``as_of <= timestamp < as_of + window_days``, or ``none``; it is never part of the state;
* the **outcome** is the snapshot label: converted in ``(as_of, as_of + horizon]``;
* the **surrogate** (:func:`surrogate_inputs`, training only) is what is known
  ``surrogate_days`` after ``as_of``: the state then and whether the lead converted or was
  lost by then. It is a label, never a feature: predictions use only the state at ``as_of``;
* the **context** (:func:`company_context`) is what the company as a whole did in the
  ``context_days`` before ``as_of``: the share of each touchpoint among its company-initiated
  touchpoints. It shows campaign seasons (trade-fair invitations before a fair, webinar
  months) that drive both the reps' choices and the touchpoints' effects.

Untreated points are sampled (``DecisionConfig.none_share``) and carry the inverse of their
sampling probability as ``weight``; treated points all stay with weight 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from leadscore.data.schemas import TIMESTAMP
from leadscore.errors import DataError
from leadscore.features import (
    FeatureSpec,
    build_features,
    label_snapshots,
    observed_until,
    open_snapshots,
    snapshot_grid,
)
from leadscore.training.next_touchpoint import Surrogate
from leadscore.training.next_touchpoint_config import NONE, DecisionConfig, NextTouchpointConfig

__all__ = [
    "DecisionPoints",
    "arm_codes",
    "build_decision_points",
    "company_context",
    "context_names",
    "decision_snapshots",
    "logged_treatments",
    "surrogate_inputs",
    "with_state",
]


@dataclass(frozen=True)
class DecisionPoints:
    """``frame``: ``lead_id, as_of, treatment, label, weight``, the features of ``spec`` and
    the ``context`` columns."""

    frame: pl.DataFrame
    spec: FeatureSpec
    arms: tuple[str, ...]
    context: tuple[str, ...]
    observed_end: datetime

    def treatment_codes(self) -> np.ndarray:
        """The treatment of each row as its index in ``arms`` (0 is ``none``)."""
        return arm_codes(self.frame["treatment"], self.arms)


def arm_codes(treatment: pl.Series, arms: tuple[str, ...]) -> np.ndarray:
    """Index of each treatment in ``arms``; raises DataError for an unknown one."""
    codes = treatment.cast(pl.Enum(list(arms)), strict=False)
    if codes.null_count():
        unknown = treatment.filter(codes.is_null()).unique().head(5).to_list()
        raise DataError(f"Treatments {unknown} are not among the arms {list(arms)}.")
    return codes.to_physical().to_numpy().astype(np.int64)


def logged_treatments(
    touchpoints: pl.DataFrame | pl.LazyFrame,
    snapshots: pl.DataFrame,
    touchpoint_names: tuple[str, ...],
    window_days: int,
) -> pl.Series:
    """Per snapshot (same order), the first of ``touchpoint_names`` the company initiated in
    ``[as_of, as_of + window_days)``, else ``none``."""
    company = (
        touchpoints.lazy()
        .filter(
            (pl.col("initiated_by") == "company") & pl.col("action").is_in(list(touchpoint_names))
        )
        .select(
            pl.col("lead_id").cast(pl.String),
            pl.col("timestamp").cast(TIMESTAMP).alias("_at"),
            pl.col("action").alias("_action"),
        )
        .sort("_at")
        .collect()
    )
    keyed = (
        snapshots.select(pl.col("lead_id").cast(pl.String), pl.col("as_of").cast(TIMESTAMP))
        .with_row_index("_row")
        .sort("as_of")
    )
    # Both sides are sorted by time; polars cannot verify that within the ``by`` groups.
    found = keyed.join_asof(
        company,
        left_on="as_of",
        right_on="_at",
        by="lead_id",
        strategy="forward",
        check_sortedness=False,
    )
    window = timedelta(days=window_days)
    treatment = (
        found.sort("_row")
        .select(
            pl.when(pl.col("_at") < pl.col("as_of") + window)
            .then(pl.col("_action"))
            .otherwise(pl.lit(NONE))
            .alias("treatment")
        )
        .to_series()
    )
    return treatment


def decision_snapshots(
    leads: pl.DataFrame,
    touchpoints: pl.DataFrame | pl.LazyFrame,
    outcomes: pl.DataFrame,
    config: NextTouchpointConfig,
) -> tuple[pl.DataFrame, datetime]:
    """Labelled decision points ``lead_id, as_of, treatment, label, weight`` (sampled; see
    the module docstring) and the end of the observed data."""
    decisions = config.decisions
    if leads.is_empty():
        raise DataError("The leads table is empty: there are no decision points.")
    end = observed_until(leads, touchpoints, outcomes)
    start = leads["created_at"].min()
    assert isinstance(start, datetime)
    grid = snapshot_grid(start, end, decisions.cadence_days)
    labelled = label_snapshots(
        open_snapshots(leads, outcomes, grid), outcomes, config.horizon_days, end
    )
    if labelled.is_empty():
        raise DataError(
            f"No decision point has a full horizon of {config.horizon_days} days of observed "
            "data; provide a longer history or shorten horizon_days."
        )
    treatment = logged_treatments(
        touchpoints, labelled, decisions.touchpoints, decisions.window_days
    )
    return _sampled(labelled.with_columns(treatment), decisions), end


def _sampled(frame: pl.DataFrame, decisions: DecisionConfig) -> pl.DataFrame:
    """Treated rows, and untreated ones with probability ``none_share``, with their weights."""
    treated = (frame["treatment"] != NONE).to_numpy()
    draw = np.random.default_rng(decisions.seed).random(frame.height)
    keep = treated | (draw < decisions.none_share)
    weight = np.where(treated, 1.0, 1.0 / decisions.none_share)
    return frame.with_columns(weight=pl.Series(weight, dtype=pl.Float64)).filter(pl.Series(keep))


def context_names(touchpoint_names: tuple[str, ...], days: int) -> tuple[str, ...]:
    """The context columns of :func:`company_context`."""
    return tuple(f"company_share_{name}_{days}d" for name in touchpoint_names)


def company_context(
    touchpoints: pl.DataFrame | pl.LazyFrame,
    as_of: pl.Series,
    touchpoint_names: tuple[str, ...],
    days: int,
) -> pl.DataFrame:
    """Per ``as_of`` (same order): each touchpoint's share among all company-initiated
    touchpoints with ``as_of - days <= timestamp < as_of`` (0 when there were none)."""
    company = (
        touchpoints.lazy()
        .filter(pl.col("initiated_by") == "company")
        .select(pl.col("timestamp").cast(TIMESTAMP).dt.epoch("us").alias("t"), "action")
        .collect()
    )
    times = company["t"].to_numpy()
    order = np.argsort(times, kind="stable")
    times = times[order]
    actions = company["action"].to_numpy()[order]
    end = as_of.cast(TIMESTAMP).dt.epoch("us").to_numpy()
    start = end - days * 86_400_000_000
    total = np.searchsorted(times, end) - np.searchsorted(times, start)
    columns: dict[str, np.ndarray] = {}
    for name, column in zip(touchpoint_names, context_names(touchpoint_names, days), strict=True):
        mine = times[actions == name]
        count = np.searchsorted(mine, end) - np.searchsorted(mine, start)
        columns[column] = count / np.maximum(total, 1)
    return pl.DataFrame(columns)


def with_state(
    leads: pl.DataFrame | pl.LazyFrame,
    touchpoints: pl.DataFrame | pl.LazyFrame,
    decisions: pl.DataFrame,
    spec: FeatureSpec,
    decision_config: DecisionConfig | None = None,
) -> pl.DataFrame:
    """``decisions`` with the feature columns of ``spec`` and the company context at each
    ``as_of`` (same order)."""
    config = decision_config or DecisionConfig()
    features = build_features(leads, touchpoints, decisions.select("lead_id", "as_of"), spec)
    context = company_context(
        touchpoints, decisions["as_of"], config.touchpoints, config.context_days
    )
    return pl.concat([decisions, features.drop("lead_id", "as_of"), context], how="horizontal")


def build_decision_points(
    leads: pl.DataFrame,
    touchpoints: pl.DataFrame,
    outcomes: pl.DataFrame,
    config: NextTouchpointConfig,
    *,
    spec: FeatureSpec | None = None,
) -> DecisionPoints:
    """Every sampled, labelled decision point with its treatment, weight and state features.

    ``spec`` defaults to the config's feature spec resolved on these touchpoints.
    """
    spec = spec or config.features.resolve(touchpoints)
    frame, end = decision_snapshots(leads, touchpoints, outcomes, config)
    decisions = config.decisions
    return DecisionPoints(
        frame=with_state(leads, touchpoints, frame, spec, decisions),
        spec=spec,
        arms=(NONE, *decisions.touchpoints),
        context=context_names(decisions.touchpoints, decisions.context_days),
        observed_end=end,
    )


def surrogate_inputs(
    leads: pl.DataFrame,
    touchpoints: pl.DataFrame,
    outcomes: pl.DataFrame,
    points: pl.DataFrame,
    spec: FeatureSpec,
    decisions: DecisionConfig,
    days: int,
) -> Surrogate:
    """What is known ``days`` after each decision point of ``points`` (same order): the state
    at ``as_of + days`` (the one feature builder) and whether the lead converted (1.0) or was
    lost (0.0) in ``(as_of, as_of + days]`` (NaN: still open)."""
    later = points.select("lead_id", (pl.col("as_of") + timedelta(days=days)).alias("as_of"))
    closed = (
        outcomes.lazy()
        .group_by(pl.col("lead_id").cast(pl.String))
        .agg(
            pl.col("converted_at").cast(TIMESTAMP).min().alias("_converted"),
            pl.col("lost_at").cast(TIMESTAMP).min().alias("_lost"),
        )
    )
    window_end = pl.col("as_of") + timedelta(days=days)

    def within(column: str) -> pl.Expr:
        return ((pl.col(column) > pl.col("as_of")) & (pl.col(column) <= window_end)).fill_null(
            False
        )

    # Joined eagerly: polars 2.1's lazy engine let the rows of a ``when`` after a join or
    # sort drift from their keys (tests guard the alignment).
    settled = (
        points.select("lead_id", "as_of")
        .with_row_index("_row")
        .join(closed.collect(), on="lead_id", how="left")
        .sort("_row")
        .select(
            pl.when(within("_converted"))
            .then(1.0)
            .when(within("_lost"))
            .then(0.0)
            .otherwise(None)
            .alias("settled")
        )
        .to_series()
        .to_numpy()
        .astype(np.float64)
    )
    return Surrogate(
        state=with_state(leads, touchpoints, later, spec, decisions), settled=settled, days=days
    )
