"""Training the propensity model on the event path: examples, split, fit, baseline, assessment."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import polars as pl
from sklearn.pipeline import Pipeline

from leadscore.features import FeatureSpec
from leadscore.training.assessment import Assessment, assess
from leadscore.training.config import PipelineConfig
from leadscore.training.examples import Examples, build_examples
from leadscore.training.fingerprint import fingerprint
from leadscore.training.leakage import LeakageReport, check_leakage
from leadscore.training.model import PropensityModel
from leadscore.training.split import temporal_split

__all__ = [
    "Progress",
    "SplitSummary",
    "TrainedPropensity",
    "assess_examples",
    "new_model",
    "quiet",
    "train_propensity",
]

Progress = Callable[[str], None]


class SplitSummary(Protocol):
    """How the examples were split (sizes and boundaries), for logs and JSON."""

    def to_dict(self) -> dict[str, object]: ...


@dataclass(frozen=True)
class TrainedPropensity:
    """Everything one training run produced: models, split, test predictions, assessment.

    ``test`` holds ``lead_id, as_of, label, probability, baseline_probability`` (and ``p_true``
    when the truth was given) of the test snapshots; ``test_features`` the same rows'
    ``lead_id, as_of, label`` and feature columns. ``spec`` is ``None`` for a model trained on
    a flat lead table; ``notes`` then says what happened to each column.
    """

    model: PropensityModel
    baseline: Pipeline
    config: PipelineConfig
    spec: FeatureSpec | None
    split: SplitSummary
    test: pl.DataFrame
    test_features: pl.DataFrame
    assessment: Assessment
    leakage: LeakageReport
    fingerprint: dict[str, Any]
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def metrics(self) -> dict[str, float]:
        """The calibrated model's test metrics."""
        return self.assessment.metrics


def quiet(_: str) -> None:
    """A progress callback that shows nothing."""
    return None


def new_model(config: PipelineConfig) -> PropensityModel:
    """An unfitted propensity model with the pipeline's model settings."""
    return PropensityModel(
        params=config.model.lightgbm,
        learning_rate=config.model.learning_rate,
        rows_per_round=config.model.rows_per_round,
        validation_rows=config.model.validation_rows,
        max_rounds=config.model.max_rounds,
        early_stopping_rounds=config.model.early_stopping_rounds,
        calibration=config.model.calibration,
        min_category_count=config.model.min_category_count,
        seed=config.split.seed,
    )


def train_propensity(
    leads: pl.DataFrame,
    touchpoints: pl.DataFrame,
    outcomes: pl.DataFrame,
    config: PipelineConfig,
    *,
    truth: pl.DataFrame | None = None,
    keep_columns: Sequence[str] = (),
    progress: Progress = quiet,
) -> TrainedPropensity:
    """Train, calibrate and assess the propensity model and its baseline on one dataset.

    ``truth`` (the simulator's ``truth/snapshots``) adds the oracle's figures on the test
    snapshots. Features suspected of leaking the outcome are left out unless named in
    ``keep_columns``.
    """
    progress("building point-in-time snapshots and features")
    examples: Examples = build_examples(leads, touchpoints, outcomes, config)
    frame = examples.frame
    split = temporal_split(
        frame["as_of"],
        test_share=config.split.test_share,
        validation_days=config.split.validation_days or config.horizon_days,
    )
    labels = frame["label"].to_numpy().astype(np.int8)
    train = frame.filter(pl.Series(split.train))

    progress("checking the training table for leakage")
    names = list(examples.spec.feature_names())
    leakage = check_leakage(train.select(names), labels[split.train], keep=keep_columns)
    spec = examples.spec.excluding(list(leakage.excluded_columns))

    progress(f"training LightGBM and the baseline on {int(split.train.sum()):,} snapshots")
    model = new_model(config).fit(
        train,
        labels[split.train],
        validation=(frame.filter(pl.Series(split.validation)), labels[split.validation]),
        spec=spec,
    )

    progress("assessing on the test snapshots")
    test = frame.filter(pl.Series(split.test))
    scored, assessment = assess_examples(
        model, test, truth=truth, training_positives=int(labels[split.train].sum())
    )
    return TrainedPropensity(
        model=model,
        baseline=model.baseline_,
        config=config,
        spec=spec,
        split=split,
        test=scored,
        test_features=test,
        assessment=assessment,
        leakage=leakage,
        fingerprint=fingerprint({"leads": leads, "touchpoints": touchpoints, "outcomes": outcomes}),
    )


def assess_examples(
    model: PropensityModel,
    examples: pl.DataFrame,
    *,
    truth: pl.DataFrame | None = None,
    training_positives: int | None = None,
) -> tuple[pl.DataFrame, Assessment]:
    """Score labelled examples (``lead_id, as_of, label`` and features) and assess the model.

    Returns the scored rows (``lead_id, as_of, label, probability, baseline_probability``
    and ``p_true`` when the truth is given) and the :class:`Assessment`.
    """
    matrix = model.transform(examples)
    probability = model.predict_proba_matrix(matrix)
    base_probability = model.predict_baseline_matrix(matrix)
    scored = examples.select("lead_id", "as_of", "label").with_columns(
        probability=pl.Series(probability), baseline_probability=pl.Series(base_probability)
    )
    p_true = None
    if truth is not None:
        scored = scored.join(
            truth.select("lead_id", "as_of", "p_true"),
            on=["lead_id", "as_of"],
            how="left",
            maintain_order="left",
        )
        p_true = scored["p_true"].fill_null(np.nan).to_numpy().astype(np.float64)
    segment_columns = [c for c in ("source", "company_size") if c in examples.columns]
    assessment = assess(
        examples["label"].to_numpy().astype(np.int8),
        probability,
        baseline=base_probability,
        p_true=p_true,
        segments=examples.select(segment_columns),
        training_positives=training_positives,
    )
    return scored, assessment
