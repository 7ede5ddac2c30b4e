"""Promoting a trained propensity model to ``leadscore-propensity@champion``.

**Promotion rule.** A candidate run's model becomes the champion only if its ROC AUC on the
candidate's own test snapshots is higher than the current champion's ROC AUC on the same
snapshots. The champion is scored on those snapshots with its own features: by a ``holdout``
function when one is given (``leadscore promote --data PATH`` rebuilds the champion's
features from the data), otherwise from the test features stored with the candidate run,
which works only when both models use the same features. When neither is possible the
promotion is refused. With no champion yet, the candidate becomes the champion. A forced
promotion (``--force --reason TEXT``) sets the alias regardless of the figures; its reason is
recorded as the tag ``promotion_reason`` on the model version and on the run. A rejected
candidate leaves the alias unchanged, and the answer names both figures.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import polars as pl

from leadscore.errors import ConfigError, UsageError
from leadscore.evaluation import binary_metrics
from leadscore.settings import Settings
from leadscore.training.model import PropensityModel
from leadscore.training.tracking import (
    CHAMPION_ALIAS,
    PROPENSITY_MODEL_NAME,
    configure_mlflow,
    load_propensity,
    quiet_mlflow,
    resolve_model,
)

__all__ = [
    "PROMOTION_METRIC",
    "CandidateHoldout",
    "Holdout",
    "Promotion",
    "candidate_holdout",
    "champion_version",
    "check_run_id",
    "promote",
    "record_promotion",
    "run_artifact",
]

PROMOTION_METRIC: Final = "roc_auc"
"""The figure a candidate must beat the champion on."""

Holdout = Callable[[PropensityModel], float]
"""Given the champion's model, its ROC AUC on the candidate's test snapshots."""

_RUN_ID: Final = re.compile(r"[0-9a-f]{32}")
_PREDICTIONS: Final = "test_predictions.parquet"
_FEATURES: Final = "test_features.parquet"


@dataclass(frozen=True)
class Promotion:
    """The outcome of a promotion: whether the candidate is now the champion, and why."""

    promoted: bool
    run_id: str
    version: int
    previous_version: int | None
    metric: str
    candidate_value: float | None
    champion_value: float | None
    reason: str
    forced: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "promoted": self.promoted,
            "run_id": self.run_id,
            "version": self.version,
            "previous_version": self.previous_version,
            "metric": self.metric,
            "candidate_value": self.candidate_value,
            "champion_value": self.champion_value,
            "reason": self.reason,
            "forced": self.forced,
        }


@dataclass(frozen=True)
class CandidateHoldout:
    """A candidate run's test snapshots (``lead_id, as_of, label``) and where its data came
    from (the run's ``data_location`` parameter), for scoring the champion on them."""

    snapshots: pl.DataFrame
    data_location: str | None


def champion_version(settings: Settings, name: str = PROPENSITY_MODEL_NAME) -> int | None:
    """The registered version the ``champion`` alias of ``name`` (default
    ``leadscore-propensity``) points at, or None if there is none."""
    configure_mlflow(settings)
    with quiet_mlflow():
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        # One read of the model (the service asks every few seconds): a search would also
        # load every version of it.
        try:
            model = MlflowClient().get_registered_model(name)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise ConfigError(
                f"Cannot read the model registry at {settings.tracking_uri}: {exc.message}"
            ) from exc
    version = model.aliases.get(CHAMPION_ALIAS)
    return None if version is None else int(version)


def run_artifact(run_id: str, name: str, settings: Settings) -> pl.DataFrame:
    """The Parquet artifact ``name`` of a run, read into memory."""
    configure_mlflow(settings)
    with quiet_mlflow(), tempfile.TemporaryDirectory(prefix="leadscore-promote-") as tmp:
        from mlflow.artifacts import download_artifacts
        from mlflow.exceptions import MlflowException

        try:
            path = download_artifacts(run_id=run_id, artifact_path=name, dst_path=tmp)
        except (MlflowException, OSError) as exc:
            raise ConfigError(
                f"Run {run_id} has no artifact {name}; promote runs logged by `leadscore train`."
            ) from exc
        return pl.read_parquet(Path(path))


def check_run_id(run_id: str) -> str:
    """``run_id`` stripped, or a :class:`UsageError` when it is not an MLflow run id."""
    run_id = run_id.strip()
    if not _RUN_ID.fullmatch(run_id):
        raise UsageError(
            f"RUN_ID must be the 32-character hexadecimal id of an MLflow run (as `leadscore "
            f"train` prints it); got {run_id!r}."
        )
    return run_id


def candidate_holdout(run_id: str, *, settings: Settings) -> CandidateHoldout:
    """The test snapshots of a candidate run and its ``data_location`` parameter."""
    run_id = check_run_id(run_id)
    snapshots = run_artifact(run_id, _PREDICTIONS, settings).select("lead_id", "as_of", "label")
    with quiet_mlflow():
        from mlflow import MlflowClient

        params = MlflowClient().get_run(run_id).data.params
    return CandidateHoldout(snapshots, params.get("data_location"))


def _same_features(a: PropensityModel, b: PropensityModel) -> bool:
    return (
        a.spec_ == b.spec_
        and a.feature_names == b.feature_names
        and a.encoder_.categorical_ == b.encoder_.categorical_
    )


def _champion_auc(
    champion: PropensityModel,
    candidate: PropensityModel,
    predictions: pl.DataFrame,
    *,
    run_id: str,
    champion_version: int,
    settings: Settings,
) -> float:
    """The champion's ROC AUC on the candidate's test snapshots, from the stored features."""
    if not _same_features(champion, candidate):
        raise UsageError(
            f"Cannot compare run {run_id} with the champion (version {champion_version}) on "
            "the same holdout: the champion uses other features, so the test features stored "
            "with the run do not fit it. Pass the data with `--data PATH` so the champion's "
            "features can be rebuilt for the run's test snapshots, or promote anyway with "
            "`--force --reason TEXT`."
        )
    features = run_artifact(run_id, _FEATURES, settings)
    keys = ["lead_id", "as_of"]
    if not features.select(keys).equals(predictions.select(keys)):
        raise ConfigError(
            f"The stored {_FEATURES} and {_PREDICTIONS} of run {run_id} hold different rows."
        )
    probability = champion.predict_proba(features)
    return binary_metrics(predictions["label"].to_numpy(), probability)[PROMOTION_METRIC]


def record_promotion(
    run_id: str, version: int, reason: str, *, forced: bool, name: str = PROPENSITY_MODEL_NAME
) -> None:
    """Point ``name@champion`` at ``version`` and tag the version and the run with why."""
    from mlflow import MlflowClient

    client = MlflowClient()
    client.set_registered_model_alias(name, CHAMPION_ALIAS, str(version))
    tags = {"promotion_reason": reason, "promotion_forced": str(forced).lower()}
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, value)
        client.set_tag(run_id, key, value)


def promote(
    run_id: str,
    *,
    settings: Settings,
    force: bool = False,
    reason: str | None = None,
    holdout: Holdout | None = None,
) -> Promotion:
    """Make the model of ``run_id`` the champion if it beats the current one.

    The rule (see the module docstring): the candidate's ROC AUC on its own test snapshots
    must be higher than the champion's ROC AUC on the same snapshots. ``holdout``, given the
    champion's model, returns that champion figure; without it the champion is scored on the
    test features stored with the run, which needs both models to use the same features.
    With no champion yet the candidate becomes the champion. ``force=True`` needs a
    non-empty ``reason`` and promotes regardless; the reason is recorded as the tag
    ``promotion_reason`` on the model version and the run.

    Raises :class:`~leadscore.errors.UsageError` for a malformed run id, ``force`` without a
    reason, or a champion that cannot be scored on the run's holdout, and
    :class:`~leadscore.errors.ConfigError` when the run has no registered model version.
    """
    run_id = check_run_id(run_id)
    reason = (reason or "").strip() or None
    if force and reason is None:
        raise UsageError(
            "A forced promotion needs a reason (--reason TEXT); it is recorded with the "
            "model version."
        )
    candidate = resolve_model(run_id, settings)
    if candidate.version is None:
        raise ConfigError(
            f"Run {run_id} has no registered version of {PROPENSITY_MODEL_NAME}; promote a "
            "run logged by `leadscore train`."
        )
    version = candidate.version
    predictions = run_artifact(run_id, _PREDICTIONS, settings)
    labels = predictions["label"].to_numpy()
    value = binary_metrics(labels, predictions["probability"].to_numpy())[PROMOTION_METRIC]
    previous = champion_version(settings)

    def outcome(promoted: bool, champion: float | None, text: str) -> Promotion:
        return Promotion(
            promoted, run_id, version, previous, PROMOTION_METRIC, value, champion, text, force
        )

    if previous == version:
        return outcome(True, value, f"Version {version} (run {run_id}) is already the champion.")
    if force:
        text = f"Forced promotion of version {version} (run {run_id}): {reason}"
        with quiet_mlflow():
            record_promotion(run_id, version, text, forced=True)
        return outcome(True, None, text)
    if previous is None:
        text = (
            f"No champion yet: version {version} (run {run_id}) becomes the first champion, "
            f"with ROC AUC {value:.4f} on its test snapshots."
        )
        with quiet_mlflow():
            record_promotion(run_id, version, text, forced=False)
        return outcome(True, None, text)

    champion = load_propensity(f"models:/{PROPENSITY_MODEL_NAME}/{previous}", settings).model
    if holdout is not None:
        champion_value = float(holdout(champion))
        if not (math.isfinite(champion_value) and 0.0 <= champion_value <= 1.0):
            raise UsageError(
                f"The holdout function must return the champion's ROC AUC in [0, 1]; got "
                f"{champion_value!r}."
            )
    else:
        model = load_propensity(f"models:/{PROPENSITY_MODEL_NAME}/{version}", settings).model
        champion_value = _champion_auc(
            champion,
            model,
            predictions,
            run_id=run_id,
            champion_version=previous,
            settings=settings,
        )
    figures = (
        f"ROC AUC {value:.4f} on the run's {predictions.height:,} test snapshots against "
        f"{champion_value:.4f} for the champion (version {previous}) on the same snapshots"
    )
    if value > champion_value:
        text = f"Version {version} (run {run_id}) beats the champion: {figures}."
        with quiet_mlflow():
            record_promotion(run_id, version, text, forced=False)
        return outcome(True, champion_value, text)
    return outcome(
        False,
        champion_value,
        f"Not promoted: version {version} (run {run_id}) does not beat the champion: "
        f"{figures}. The champion stays; to promote anyway use --force --reason TEXT.",
    )
