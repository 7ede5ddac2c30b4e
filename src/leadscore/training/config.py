"""The pipeline configuration: one typed object per ``pipelines/*.yaml`` file.

The defaults of :class:`PipelineConfig` are the shipped ``pipelines/propensity.yaml`` (a test
keeps the two equal), so the library also runs without the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Final, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from leadscore.errors import ConfigError
from leadscore.features import FeatureSpec

__all__ = [
    "DEFAULT_LIGHTGBM",
    "PIPELINE_KINDS",
    "ModelConfig",
    "PipelineConfig",
    "ScoringConfig",
    "SnapshotConfig",
    "SplitConfig",
    "load_pipeline",
    "pipeline_kind",
    "read_pipeline_file",
    "validate_pipeline",
]

Share = Annotated[float, Field(gt=0, lt=1)]
Days = Annotated[int, Field(gt=0, le=3650)]

Config = TypeVar("Config", bound=BaseModel)

#: The kinds of pipeline a file can declare with ``kind:``.
PIPELINE_KINDS: Final = ("propensity", "next-touchpoint")

#: Shallow, strongly regularised trees: the buying stage behind the activity is a small hidden
#: state seen through noisy counts, and deeper trees fit the noise (measured in
#: ``benchmarks/propensity_quality.py``).
DEFAULT_LIGHTGBM: dict[str, Any] = {
    "num_leaves": 8,
    "max_depth": 3,
    "min_child_samples": 500,
    "feature_fraction": 0.5,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "max_bin": 255,
    "cat_smooth": 10,
    "cat_l2": 20,
    "min_data_per_group": 200,
}


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SnapshotConfig(_Section):
    """Training snapshots: one per open lead every ``cadence_days``."""

    cadence_days: Days = 7


class SplitConfig(_Section):
    """Temporal split of the labelled snapshots by ``as_of``.

    The latest ``test_share`` of the snapshot dates is the test set. The
    ``validation_days`` before it (default: one horizon) are the validation set, used for
    early stopping and calibration; they also make the gap between the end of the training
    labels and the first test snapshot. Earlier dates are the training set.
    """

    test_share: Share = 0.2
    validation_days: Days | None = None
    seed: int = 0


class ModelConfig(_Section):
    """LightGBM parameters, early stopping and the calibration method.

    ``learning_rate`` ``auto`` depends on the number of training rows (see
    :func:`leadscore.training.model.auto_learning_rate`); ``rows_per_round`` caps the rows
    each boosting round samples (LightGBM bagging), ``None`` to use ``bagging_fraction`` as
    given; ``validation_rows`` caps the validation rows that stop the boosting and fit the
    calibration (a seeded random sample), ``None`` for all.
    """

    lightgbm: dict[str, Any] = Field(default_factory=lambda: dict(DEFAULT_LIGHTGBM))
    learning_rate: Annotated[float, Field(gt=0, le=1)] | Literal["auto"] = "auto"
    rows_per_round: Annotated[int, Field(gt=0)] | None = 250_000
    validation_rows: Annotated[int, Field(gt=0)] | None = 250_000
    max_rounds: Annotated[int, Field(gt=0)] = 3000
    early_stopping_rounds: Annotated[int, Field(gt=0)] = 100
    calibration: Literal["isotonic", "sigmoid"] = "isotonic"
    min_category_count: Annotated[int, Field(ge=1)] = 20

    @model_validator(mode="after")
    def _check(self) -> ModelConfig:
        if "learning_rate" in self.lightgbm and self.learning_rate != "auto":
            raise ValueError(
                "the learning rate is set twice (model.learning_rate and "
                "model.lightgbm.learning_rate); keep one"
            )
        return self


class ScoringConfig(_Section):
    """Score, grade, trend and reasons of a scored lead.

    ``grades`` maps a grade to the lowest probability that earns it, best first; a lead below
    every threshold gets the last grade of ``fallback_grade``.
    """

    grades: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=lambda: {"A": 0.40, "B": 0.20, "C": 0.08}
    )
    fallback_grade: str = "D"
    trend_days: Days = 7
    reasons: Annotated[int, Field(ge=0, le=10)] = 3

    @model_validator(mode="after")
    def _check(self) -> ScoringConfig:
        values = list(self.grades.values())
        if values != sorted(values, reverse=True):
            raise ValueError("grades must be listed best first with falling thresholds")
        return self


class PipelineConfig(_Section):
    """One pipeline: what to predict, from which snapshots, with which features and model."""

    name: str = "propensity"
    kind: Literal["propensity"] = "propensity"
    horizon_days: Days = 90
    snapshots: SnapshotConfig = SnapshotConfig()
    split: SplitConfig = SplitConfig()
    features: FeatureSpec = FeatureSpec()
    model: ModelConfig = ModelConfig()
    scoring: ScoringConfig = ScoringConfig()


def read_pipeline_file(path: str | Path) -> dict[str, Any]:
    """The settings mapping of a pipeline file, with clear errors for a missing or broken file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"Pipeline file {path} does not exist.") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"Pipeline file {path} is not valid YAML: {exc}") from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"Pipeline file {path} must hold a mapping of settings.")
    return raw


def validate_pipeline(kind: type[Config], raw: dict[str, Any], path: str | Path) -> Config:
    """``raw`` as a ``kind`` object; every problem named by its key path."""
    try:
        return kind.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"Pipeline file {path} is invalid: {problems}") from exc


def pipeline_kind(path: str | Path | None) -> str:
    """The ``kind`` a pipeline file declares (``propensity`` when it says none)."""
    if path is None:
        return "propensity"
    kind = read_pipeline_file(path).get("kind", "propensity")
    if kind not in PIPELINE_KINDS:
        raise ConfigError(
            f"Pipeline file {path}: kind {kind!r} is unknown; use one of {list(PIPELINE_KINDS)}."
        )
    return str(kind)


def load_pipeline(path: str | Path | None = None) -> PipelineConfig:
    """Read a propensity pipeline file; ``None`` gives the built-in defaults."""
    if path is None:
        return PipelineConfig()
    raw = read_pipeline_file(path)
    if raw.get("kind") == "next-touchpoint":
        raise ConfigError(
            f"Pipeline file {path} is a next-touchpoint pipeline; this step needs a "
            "propensity pipeline (kind: propensity)."
        )
    return validate_pipeline(PipelineConfig, raw, path)
