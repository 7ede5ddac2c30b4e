"""Training the propensity model end to end on a small simulated CRM."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
import pytest

from leadscore.data.schemas import TIMESTAMP
from leadscore.data.simulator import Tables
from leadscore.errors import ConfigError, DataError, UsageError
from leadscore.features import FeatureInfo
from leadscore.training.config import ModelConfig, PipelineConfig, load_pipeline
from leadscore.training.model import PropensityModel
from leadscore.training.next_touchpoint_config import (
    NextTouchpointConfig,
    load_next_touchpoint_pipeline,
)
from leadscore.training.propensity import TrainedPropensity, new_model
from leadscore.training.split import temporal_split

REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_pipeline_file_is_the_builtin_default() -> None:
    assert load_pipeline(REPO / "pipelines" / "propensity.yaml") == PipelineConfig()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("horizon_days: -3", r"horizon_days: Input should be greater than 0"),
        ("model: {calibration: magic}", r"model.calibration: Input should be 'isotonic'"),
        ("features: {windows_days: [7, 7]}", r"must not repeat a window"),
        ("scoring: {grades: {A: 0.1, B: 0.5}}", r"falling thresholds"),
        ("surprise: 1", r"surprise: Extra inputs are not permitted"),
        ("- a list", r"must hold a mapping"),
    ],
    ids=["negative-horizon", "calibration", "windows", "grades", "unknown-key", "not-a-mapping"],
)
def test_a_bad_pipeline_file_says_where(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_pipeline(path)


def test_the_temporal_split_keeps_a_horizon_between_train_and_test(
    trained: TrainedPropensity,
) -> None:
    split = trained.split
    frame = trained.test_features
    assert frame["as_of"].min() >= split.test_start  # type: ignore[union-attr]
    gap = timedelta(days=trained.config.split.validation_days or 0)
    assert split.test_start - split.validation_start == gap  # type: ignore[union-attr]
    sizes = split.to_dict()
    assert sizes["train_rows"] > 0 and sizes["validation_rows"] > 0  # type: ignore[operator]


def test_a_split_with_too_few_dates_is_refused() -> None:
    dates = pl.Series("as_of", [datetime(2025, 1, 1, tzinfo=UTC)] * 5, dtype=TIMESTAMP)
    with pytest.raises(DataError, match="at least 3 snapshot dates"):
        temporal_split(dates, test_share=0.2, validation_days=90)


def test_training_beats_chance_and_reports_every_metric(trained: TrainedPropensity) -> None:
    out = trained.assessment.to_dict()
    keys = {"roc_auc", "pr_auc", "log_loss", "brier", "ece", "lift_at_10"}
    assert set(out["metrics"]) == keys and set(out["baseline"]) == keys
    assert out["metrics"]["roc_auc"] > 0.7
    assert set(out["oracle"]) == {"roc_auc", "brier", "prob_mae", "coverage"}
    assert out["oracle"]["coverage"] == 1.0
    assert out["readiness"]["level"] in {"ready", "usable", "not ready"}
    assert trained.leakage.suspects == ()


def test_the_calibrated_probabilities_are_probabilities(trained: TrainedPropensity) -> None:
    p = trained.test["probability"].to_numpy()
    assert np.all((p >= 0) & (p <= 1))
    # Calibrated on a later fold: the mean is close to the observed rate on the test fold.
    assert abs(p.mean() - trained.test["label"].mean()) < 0.05  # type: ignore[operator]


def test_an_unfitted_model_says_so(small_run: Tables) -> None:
    with pytest.raises(UsageError, match="not fitted yet"):
        PropensityModel().predict_proba(small_run.leads)


def test_the_model_knows_its_features_and_versions(trained: TrainedPropensity) -> None:
    model = trained.model
    assert model.spec_ is not None
    assert model.feature_names == model.spec_.feature_names()
    assert model.format_version_ == 1
    importance = model.feature_importance()
    assert set(importance) == set(model.feature_names) and sum(importance.values()) > 0


def test_the_learning_rate_and_rows_per_round_follow_the_table_size() -> None:
    model = new_model(PipelineConfig())
    small, large = model.training_params(200_000), model.training_params(1_000_000)
    assert small["learning_rate"] == 0.02 and small["bagging_fraction"] == 0.8
    assert large["learning_rate"] == pytest.approx(0.08)
    assert large["bagging_fraction"] == pytest.approx(0.25) and large["bagging_freq"] == 1
    assert model.training_params(10_000_000)["learning_rate"] == 0.1
    # Given values win; bagging switched off is switched on to cap the rows of a round.
    fixed = PipelineConfig(
        model=ModelConfig(
            learning_rate=0.3,
            rows_per_round=1_000,
            lightgbm={"bagging_freq": 0, "bagging_fraction": 1.0},
        )
    )
    params = new_model(fixed).training_params(4_000)
    assert params["learning_rate"] == 0.3
    assert params["bagging_fraction"] == 0.25 and params["bagging_freq"] == 1
    uncapped = new_model(PipelineConfig(model=ModelConfig(rows_per_round=None)))
    assert uncapped.training_params(1_000_000)["bagging_fraction"] == 0.8


def test_a_larger_automatic_rate_waits_fewer_rounds_and_a_big_fold_is_sampled() -> None:
    model = new_model(PipelineConfig())
    assert model.patience(0.02) == 100 and model.patience(0.08) == 25
    assert new_model(PipelineConfig(model=ModelConfig(learning_rate=0.08))).patience(0.08) == 100
    fold = pl.DataFrame({"x": np.arange(600_000)})
    labels = (np.arange(600_000) % 7 == 0).astype(np.int8)
    sample, sampled_labels = model.validation_sample(fold, labels)
    assert sample.height == 250_000 and sampled_labels.size == 250_000
    assert (sampled_labels == (sample["x"].to_numpy() % 7 == 0)).all()  # rows stay paired
    again, _ = model.validation_sample(fold, labels)
    assert again.equals(sample)  # seeded
    small = fold.head(1_000)
    assert model.validation_sample(small, labels[:1_000])[0] is small


@pytest.mark.parametrize("calibration", ["isotonic", "sigmoid"])
def test_a_model_stops_and_calibrates_on_its_validation_sample(
    calibration: Literal["isotonic", "sigmoid"],
) -> None:
    rng = np.random.default_rng(0)
    visits = rng.normal(size=1_500)
    converted = (visits + rng.normal(size=1_500) > 0.5).astype(np.int8)
    frame = pl.DataFrame({"visits": visits})
    info = FeatureInfo("visits", "numeric", "visits", "visits: {value}")
    model = PropensityModel(
        max_rounds=20, validation_rows=300, calibration=calibration, params={"num_threads": 1}
    ).fit(frame[:500], converted[:500], validation=(frame[500:], converted[500:]), infos=(info,))
    p = model.predict_proba(frame[500:])
    assert p.shape == (1_000,)
    assert p[converted[500:] == 1].mean() > p[converted[500:] == 0].mean() + 0.2


def test_a_learning_rate_given_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("model: {learning_rate: 0.1, lightgbm: {learning_rate: 0.05}}")
    with pytest.raises(ConfigError, match="learning rate is set twice"):
        load_pipeline(path)


def test_the_baseline_learns_from_a_sample_of_a_large_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from leadscore.training import baseline

    rng = np.random.default_rng(3)
    x = rng.normal(size=(2_000, 3))
    y = (x[:, 0] + rng.normal(size=2_000) > 0).astype(np.int8)
    monkeypatch.setattr(baseline, "MAX_BASELINE_ROWS", 500)
    sampled = baseline.fit_baseline(x, y, categorical=[])
    scaler = sampled.named_steps["prepare"].named_transformers_["numeric"].named_steps["scale"]
    assert scaler.n_samples_seen_ == 500
    # It still separates the classes on all rows.
    p = sampled.predict_proba(x)[:, 1]
    assert p[y == 1].mean() > p[y == 0].mean() + 0.2


def test_the_next_touchpoint_pipeline_file_is_the_built_in_default() -> None:
    path = REPO / "pipelines" / "next-touchpoint.yaml"
    assert load_next_touchpoint_pipeline(path) == NextTouchpointConfig()
    with pytest.raises(ConfigError, match="is a next-touchpoint pipeline"):
        load_pipeline(path)
    with pytest.raises(ConfigError, match="is not a next-touchpoint pipeline"):
        load_next_touchpoint_pipeline(REPO / "pipelines" / "propensity.yaml")
