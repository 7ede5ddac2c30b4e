"""Training the next-best-touchpoint model on a temporal split, and scoring open leads.

:func:`train_next_touchpoint` builds the decision points, splits them by date (the latest
``split.test_share`` of decision dates is the test period; training ends ``gap_days`` before
it, so no training label looks into the test period) and fits the DR-learner and the naive
reference on the training part. :func:`next_best_touchpoints` serves recommendations for any
snapshots with the one feature builder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl
from numpy.typing import NDArray

from leadscore.errors import DataError
from leadscore.features import FeatureSpec
from leadscore.training.decision_points import (
    DecisionPoints,
    arm_codes,
    build_decision_points,
    surrogate_inputs,
    with_state,
)
from leadscore.training.next_touchpoint import NaiveUpliftModel, NextTouchpointModel
from leadscore.training.next_touchpoint_config import NextTouchpointConfig
from leadscore.training.recommend import (
    Recommendations,
    allowed_touchpoints,
    contact_state,
    recommend,
    recommendation_frame,
)

__all__ = [
    "TrainedNextTouchpoint",
    "next_best_touchpoints",
    "serve",
    "split_dates",
    "train_next_touchpoint",
]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TrainedNextTouchpoint:
    """The fitted models, their config and the held-out decision points of the test period."""

    model: NextTouchpointModel
    naive: NaiveUpliftModel
    config: NextTouchpointConfig
    spec: FeatureSpec
    context: tuple[str, ...]
    test: pl.DataFrame
    train_rows: int
    train_end: datetime
    test_start: datetime

    def split_summary(self) -> dict[str, object]:
        """Sizes and boundaries of the split, for logs and JSON."""
        return {
            "train_rows": self.train_rows,
            "test_rows": self.test.height,
            "train_end": self.train_end.isoformat(),
            "test_start": self.test_start.isoformat(),
        }


def split_dates(as_of: pl.Series, test_share: float, gap_days: int) -> tuple[datetime, datetime]:
    """``(train_end, test_start)``: the test period is the latest ``test_share`` of the
    distinct dates; training uses dates before ``train_end = test_start - gap_days``."""
    dates = as_of.unique().sort()
    if dates.len() < 3:
        raise DataError(
            f"A temporal split needs at least 3 decision dates; found {dates.len()}. "
            "Provide a longer history."
        )
    test_start = dates[dates.len() - max(1, round(dates.len() * test_share))]
    assert isinstance(test_start, datetime)
    return test_start - timedelta(days=gap_days), test_start


def _quiet(_: str) -> None:
    return None


def train_next_touchpoint(
    leads: pl.DataFrame,
    touchpoints: pl.DataFrame,
    outcomes: pl.DataFrame,
    config: NextTouchpointConfig | None = None,
    *,
    progress: Progress | None = None,
) -> TrainedNextTouchpoint:
    """Decision points, temporal split, the DR-learner and the naive model on training dates."""
    config = config or NextTouchpointConfig()
    step = progress or _quiet
    step("building decision points")
    points: DecisionPoints = build_decision_points(leads, touchpoints, outcomes, config)
    gap = config.split.gap_days if config.split.gap_days is not None else config.horizon_days
    train_end, test_start = split_dates(points.frame["as_of"], config.split.test_share, gap)
    frame = points.frame
    train = frame.filter(pl.col("as_of") < train_end)
    test = frame.filter(pl.col("as_of") >= test_start)
    if train.is_empty():
        raise DataError(
            f"No decision point lies before {train_end:%Y-%m-%d} (the test period starts "
            f"{test_start:%Y-%m-%d}, {gap} days later); provide a longer history or lower "
            "split.gap_days."
        )
    treatment = arm_codes(train["treatment"], points.arms)
    y = train["label"].to_numpy()
    w = train["weight"].to_numpy()
    days = config.estimator.surrogate_days
    surrogate = None
    if days is not None:
        step(f"building the surrogate outcome ({days} days after each decision)")
        surrogate = surrogate_inputs(
            leads, touchpoints, outcomes, train, points.spec, config.decisions, days
        )
    step("fitting the doubly robust learner")
    model = NextTouchpointModel(config=config.estimator, min_category_count=20).fit(
        train,
        treatment,
        y,
        arms=points.arms,
        spec=points.spec,
        groups=train["lead_id"],
        context=points.context,
        weight=w,
        surrogate=surrogate,
    )
    step("fitting the naive model")
    naive = NaiveUpliftModel(config=config.estimator).fit(
        train, treatment, y, arms=points.arms, spec=points.spec, context=points.context, weight=w
    )
    return TrainedNextTouchpoint(
        model=model,
        naive=naive,
        config=config,
        spec=points.spec,
        context=points.context,
        test=test,
        train_rows=train.height,
        train_end=train_end,
        test_start=test_start,
    )


def serve(
    model: NextTouchpointModel | NaiveUpliftModel,
    state: pl.DataFrame,
    leads: pl.DataFrame,
    touchpoints: pl.DataFrame | pl.LazyFrame,
    config: NextTouchpointConfig,
    rng: np.random.Generator,
) -> Recommendations:
    """Recommendations for snapshots whose state features (``with_state``) are in ``state``."""
    prediction = model.predict(state)
    rules = contact_state(leads, touchpoints, state.select("lead_id", "as_of"), config.rules)
    allowed = allowed_touchpoints(rules, prediction.arms, config.rules)
    return recommend(prediction, allowed, state["lead_id"], config.rules, rng)


def next_best_touchpoints(
    model: NextTouchpointModel,
    leads: pl.DataFrame,
    touchpoints: pl.DataFrame,
    snapshots: pl.DataFrame,
    config: NextTouchpointConfig,
    rng: np.random.Generator,
    base: NDArray[np.float64] | None = None,
) -> pl.DataFrame:
    """The recommendation frame (see :func:`recommendation_frame`, also for ``base``) of
    ``snapshots`` (``lead_id, as_of``), their state built point in time with the model's
    feature spec."""
    state = with_state(leads, touchpoints, snapshots, model.spec_, config.decisions)
    prediction = model.predict(state)
    rules = contact_state(leads, touchpoints, snapshots, config.rules)
    allowed = allowed_touchpoints(rules, prediction.arms, config.rules)
    served = recommend(prediction, allowed, state["lead_id"], config.rules, rng)
    return recommendation_frame(snapshots, prediction, served, base)
