"""Tracking next-best-touchpoint runs in MLflow, loading them back, and promoting them.

A run of the ``next-touchpoint`` pipeline is logged to the experiment
``leadscore-next-touchpoint`` with the flattened pipeline configuration, the split, the
overlap diagnostics, the off-policy estimates on the test decision points (and, with
simulated data, the policy values against the truth), the uplift-curve chart, the test
decision points and the model, registered as a new version of ``leadscore-next-touchpoint``.

The registered model is an MLflow pyfunc whose input is the state of decision points (the
feature columns of the model's spec and the company context, as
:func:`~leadscore.training.decision_points.with_state` builds them) and whose output has, per
touchpoint ``a`` (``none`` included), the columns ``probability_<a>``, ``uplift_<a>`` and
``uncertainty_<a>``.

**Promotion rule**, the propensity model's applied to this model's figure: a candidate
becomes the champion only if the doubly robust estimate of its greedy policy's value on the
candidate's own test decision points is higher than the champion's greedy policy's value on
the same decision points, both estimated with the candidate's logging-policy and outcome
models (so the same nuisance models judge both). The figure needs no simulator: it is what
the logged data say. With no champion yet the candidate becomes the champion; ``force`` needs
a reason, recorded on the version and the run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import pickle
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

import numpy as np
import pandas as pd
import polars as pl
import yaml

from leadscore import __version__
from leadscore.errors import ConfigError, UsageError
from leadscore.evaluation.policy import one_hot
from leadscore.evaluation.uplift_plots import uplift_curve_plot
from leadscore.settings import Settings
from leadscore.training.next_touchpoint import FORMAT_VERSION, NextTouchpointModel
from leadscore.training.next_touchpoint_config import NextTouchpointConfig
from leadscore.training.next_touchpoint_evaluation import TruthEvaluation, off_policy_estimates
from leadscore.training.next_touchpoint_training import TrainedNextTouchpoint
from leadscore.training.registry import (
    Promotion,
    champion_version,
    check_run_id,
    record_promotion,
    run_artifact,
)
from leadscore.training.tracking import (
    MODEL_NAME,
    RunRecord,
    configure_mlflow,
    ensure_experiment,
    experiment_name,
    quiet_mlflow,
    resolve_model,
)

__all__ = [
    "NEXT_TOUCHPOINT_MODEL_NAME",
    "PROMOTION_METRIC",
    "LoadedNextTouchpoint",
    "greedy_policy_value",
    "load_next_touchpoint",
    "log_next_touchpoint_run",
    "log_uplift_run",
    "promote_next_touchpoint",
    "read_model_folder",
    "read_next_touchpoint_model",
    "register_version",
    "run_kind",
    "write_model_folder",
]

Stored = TypeVar("Stored")

NEXT_TOUCHPOINT_MODEL_NAME: Final = "leadscore-next-touchpoint"
"""The registered model of the next-touchpoint pipeline."""

PROMOTION_METRIC: Final = "dr_policy_value"
"""The figure a candidate must beat the champion on (see the module docstring)."""

_ARTIFACT_KEY: Final = "next_touchpoint_model"
_PICKLE: Final = "model.pkl"
_VERSIONS: Final = "versions.json"
_TEST: Final = "test_decision_points.parquet"
_ENTRY_POINT: Final = '''"""Loads a leadscore next-touchpoint model for MLflow."""

from mlflow.models import set_model

from leadscore.training.next_touchpoint_tracking import NextTouchpointPyfunc

set_model(NextTouchpointPyfunc())
'''


@dataclass(frozen=True)
class LoadedNextTouchpoint:
    """A next-touchpoint model read from the registry or a run, with where it came from.

    ``trained.test`` is empty: the test decision points are an artifact of the run.
    """

    trained: TrainedNextTouchpoint
    version: int | None
    run_id: str
    uri: str


# -- the stored model -----------------------------------------------------------------------


def write_model_folder(stored: Any, folder: Path, **facts: str) -> Path:
    """Pickle ``stored`` into ``folder`` beside ``versions.json`` (format and library
    version, and ``facts``)."""
    folder.mkdir(parents=True, exist_ok=True)
    versions = {"format_version": FORMAT_VERSION, "library_version": __version__, **facts}
    (folder / _VERSIONS).write_text(json.dumps(versions, indent=2), encoding="utf-8")
    with (folder / _PICKLE).open("wb") as handle:
        pickle.dump(stored, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return folder


def read_model_folder(folder: str | Path, kind: type[Stored], what: str, retrain: str) -> Stored:
    """The ``kind`` object pickled in a folder :func:`write_model_folder` wrote, after checking
    its format version (``what`` names the model in errors, ``retrain`` the command that
    makes a new one). Unpickling runs code: read models only from a tracking store you trust.
    """
    folder = Path(folder)
    try:
        versions = json.loads((folder / _VERSIONS).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{folder} holds no readable {_VERSIONS}; it is not a leadscore {what} model."
        ) from exc
    if versions.get("format_version") != FORMAT_VERSION:
        raise ConfigError(
            f"The {what} model at {folder} has format version "
            f"{versions.get('format_version')!r} (saved by leadscore "
            f"{versions.get('library_version')}); this leadscore reads format version "
            f"{FORMAT_VERSION}. Retrain it with `{retrain}`."
        )
    with (folder / _PICKLE).open("rb") as handle:
        stored = pickle.load(handle)
    if not isinstance(stored, kind):
        raise ConfigError(f"{folder / _PICKLE} does not hold a {what} model.")
    return stored


def _write_model(trained: TrainedNextTouchpoint, folder: Path) -> Path:
    return write_model_folder(dataclasses.replace(trained, test=trained.test.clear()), folder)


def read_next_touchpoint_model(folder: str | Path) -> TrainedNextTouchpoint:
    """The pickled model of a folder written with the model, after checking its format.

    Unpickling runs code: read models only from a tracking store you trust.
    """
    return read_model_folder(
        folder,
        TrainedNextTouchpoint,
        "next-touchpoint",
        "leadscore train --pipeline pipelines/next-touchpoint.yaml",
    )


def _prediction_frame(model: NextTouchpointModel, state: pl.DataFrame) -> pd.DataFrame:
    prediction = model.predict(state)
    columns: dict[str, Any] = {}
    for i, arm in enumerate(prediction.arms):
        columns[f"probability_{arm}"] = prediction.probability[:, i]
        columns[f"uplift_{arm}"] = prediction.uplift[:, i]
        columns[f"uncertainty_{arm}"] = prediction.uncertainty[:, i]
    return pd.DataFrame(columns)


@functools.cache
def _pyfunc_class() -> type[Any]:
    """Define ``NextTouchpointPyfunc`` on first use (importing MLflow takes seconds)."""
    with quiet_mlflow():
        from mlflow.pyfunc.model import PythonModel

    class NextTouchpointPyfunc(PythonModel):
        """MLflow's view of a next-touchpoint model: decision-point state in, per-touchpoint
        probability, uplift and uncertainty out."""

        trained: TrainedNextTouchpoint

        def load_context(self, context: Any) -> None:
            """Read the pickled model, refusing another format version."""
            self.trained = read_next_touchpoint_model(context.artifacts[_ARTIFACT_KEY])

        def predict(
            self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
        ) -> pd.DataFrame:
            """Per row: ``probability_<arm>``, ``uplift_<arm>``, ``uncertainty_<arm>``."""
            out = _prediction_frame(self.trained.model, pl.from_pandas(model_input))
            out.index = model_input.index
            return out

    NextTouchpointPyfunc.__module__ = __name__
    NextTouchpointPyfunc.__qualname__ = "NextTouchpointPyfunc"
    return NextTouchpointPyfunc


def __getattr__(name: str) -> Any:
    if name == "NextTouchpointPyfunc":
        return _pyfunc_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _state_columns(trained: TrainedNextTouchpoint) -> list[str]:
    return list(trained.model.encoder_.names_)


def _log_model(trained: TrainedNextTouchpoint) -> Any:
    example = trained.test.select(_state_columns(trained)).head(5).to_pandas()
    with tempfile.TemporaryDirectory(prefix="leadscore-model-") as tmp:
        folder = _write_model(trained, Path(tmp) / _ARTIFACT_KEY)
        entry = Path(tmp) / "next_touchpoint_pyfunc.py"
        entry.write_text(_ENTRY_POINT, encoding="utf-8")
        import mlflow.pyfunc

        return mlflow.pyfunc.log_model(
            name=MODEL_NAME,
            python_model=str(entry),
            artifacts={_ARTIFACT_KEY: str(folder)},
            input_example=example,
            metadata={
                "leadscore": {"format_version": FORMAT_VERSION, "library_version": __version__}
            },
        )


# -- logging a run ----------------------------------------------------------------------------


def greedy_policy_value(
    judge: NextTouchpointModel, candidate: NextTouchpointModel, test: pl.DataFrame
) -> float:
    """DR estimate, with ``judge``'s nuisance models, of the value of ``candidate``'s greedy
    policy (the arm of highest estimated probability, ``none`` included) on the decision
    points ``test`` (state, ``treatment``, ``label``, ``weight``)."""
    prediction = candidate.predict(test)
    if prediction.arms != judge.arms_:
        raise UsageError(
            f"The models have other touchpoints ({list(prediction.arms)} against "
            f"{list(judge.arms_)}); they cannot be compared on the same decision points."
        )
    policy = one_hot(prediction.probability.argmax(axis=1).astype(np.int64), len(judge.arms_))
    estimates = off_policy_estimates(
        judge,
        test,
        test["treatment"],
        test["label"].cast(pl.Float64).to_numpy(),
        policy,
        weight=test["weight"].to_numpy(),
        clip=judge.config.clip if judge.config else 0.01,
    )
    return float(estimates["dr"].value)


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = value
    return out


def _params(trained: TrainedNextTouchpoint, data_location: str) -> dict[str, str]:
    flat = _flatten(trained.config.model_dump(mode="json"), "", {})
    flat |= _flatten(trained.split_summary(), "split", {})
    params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in flat.items()}
    params["data_location"] = data_location
    return params


def _metrics(summary: Mapping[str, Any]) -> dict[str, float]:
    """Every finite number of the summary, keyed by its path with ``_`` between parts."""
    flat = _flatten(summary, "", {})
    return {
        key.replace(".", "_"): float(value)
        for key, value in flat.items()
        if isinstance(value, int | float)
        and not isinstance(value, bool)
        and np.isfinite(float(value))
    }


def register_version(client: Any, info: Any, run_id: str, **tags: str) -> int:
    """Register the logged model ``info`` of ``run_id`` as a new version of
    ``leadscore-next-touchpoint`` (created on first use) with ``tags``."""
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(
            NEXT_TOUCHPOINT_MODEL_NAME,
            description="leadscore: the uplift of each company-initiated touchpoint.",
        )
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    version = client.create_model_version(
        NEXT_TOUCHPOINT_MODEL_NAME,
        source=info.model_uri,
        run_id=run_id,
        model_id=info.model_id,
        tags={"leadscore.format_version": str(FORMAT_VERSION), **tags},
    )
    return int(version.version)


def _write_artifacts(
    trained: TrainedNextTouchpoint,
    summary: Mapping[str, Any],
    truth: TruthEvaluation | None,
    folder: Path,
) -> None:
    (folder / "pipeline.yaml").write_text(
        yaml.safe_dump(trained.config.model_dump(mode="json"), sort_keys=False), encoding="utf-8"
    )
    (folder / "evaluation.json").write_text(
        json.dumps(summary, indent=2, default=str), encoding="utf-8"
    )
    (folder / "feature_spec.json").write_text(
        json.dumps(trained.spec.model_dump(mode="json"), indent=2), encoding="utf-8"
    )
    trained.test.write_parquet(folder / _TEST)
    if truth is not None:
        (folder / "plots").mkdir()
        uplift_curve_plot(truth.curves, path=folder / "plots" / "uplift_curves.png")


def log_uplift_run(
    config: NextTouchpointConfig,
    *,
    params: dict[str, str],
    metrics: dict[str, float],
    write_artifacts: Callable[[Path], None],
    log_model: Callable[[], Any],
    settings: Settings,
    tags: Mapping[str, str] | None = None,
) -> RunRecord:
    """One MLflow run in the pipeline's experiment with ``params``, the pipeline and version
    tags (and ``tags``, also set on the model version), ``metrics``, the files
    ``write_artifacts`` puts in a folder, and the model ``log_model`` logs, registered as a
    new version of ``leadscore-next-touchpoint``."""
    extra = dict(tags or {})
    experiment = experiment_name(config.name)
    experiment_id = ensure_experiment(experiment, settings)
    with quiet_mlflow():
        import mlflow
        from mlflow.exceptions import MlflowException

        try:
            with (
                contextlib.redirect_stdout(sys.stderr),
                mlflow.start_run(experiment_id=experiment_id) as run,
            ):
                run_id = run.info.run_id
                mlflow.log_params(params)
                mlflow.set_tags(
                    {
                        "leadscore.pipeline": config.name,
                        "leadscore.kind": config.kind,
                        "leadscore.format_version": str(FORMAT_VERSION),
                        "leadscore.library_version": __version__,
                        **extra,
                    }
                )
                mlflow.log_metrics(metrics)
                with tempfile.TemporaryDirectory(prefix="leadscore-run-") as tmp:
                    write_artifacts(Path(tmp))
                    mlflow.log_artifacts(tmp)
                version = register_version(mlflow.MlflowClient(), log_model(), run_id, **extra)
        except MlflowException as exc:
            raise ConfigError(
                f"Logging the training run to {settings.tracking_uri} failed: {exc.message}"
            ) from exc
    return RunRecord(
        run_id=run_id,
        model_uri=f"models:/{NEXT_TOUCHPOINT_MODEL_NAME}/{version}",
        version=version,
        experiment=experiment,
    )


def log_next_touchpoint_run(
    trained: TrainedNextTouchpoint,
    summary: Mapping[str, Any],
    *,
    settings: Settings,
    data_location: str,
    truth: TruthEvaluation | None = None,
) -> RunRecord:
    """Log a trained next-touchpoint model and its evaluation ``summary`` as one MLflow run
    and register the model as a new version of ``leadscore-next-touchpoint``.

    Logged: the flattened configuration, the split and ``data_location`` as parameters; every
    number of ``summary`` as a metric (``off_policy_dr_value``, ``overlap_call_effective_
    sample_size``, ``policy_value_model`` …); ``pipeline.yaml``, ``evaluation.json``,
    ``feature_spec.json``, ``test_decision_points.parquet`` and, with the ``truth``
    evaluation, ``plots/uplift_curves.png``; the model as the pyfunc ``model``.
    """
    return log_uplift_run(
        trained.config,
        params=_params(trained, data_location),
        metrics=_metrics(summary),
        write_artifacts=lambda folder: _write_artifacts(trained, summary, truth, folder),
        log_model=lambda: _log_model(trained),
        settings=settings,
    )


# -- loading and promoting ----------------------------------------------------------------------


def load_next_touchpoint(reference: str, settings: Settings) -> LoadedNextTouchpoint:
    """Load a logged next-touchpoint model: ``champion``, a run id, ``runs:/RUN_ID/model``,
    ``models:/leadscore-next-touchpoint@ALIAS`` or ``.../VERSION``."""
    resolved = resolve_model(reference, settings, NEXT_TOUCHPOINT_MODEL_NAME)
    with quiet_mlflow():
        import mlflow.pyfunc
        from mlflow.exceptions import MlflowException

        try:
            wrapper = mlflow.pyfunc.load_model(resolved.uri).unwrap_python_model()
        except MlflowException as exc:
            raise ConfigError(f"Cannot load the model {resolved.uri}: {exc.message}") from exc
    if not isinstance(wrapper, _pyfunc_class()):
        # Imported here: the campaign module builds on this one.
        from leadscore.training.campaign_tracking import is_campaign_model

        if is_campaign_model(wrapper):
            raise UsageError(
                f"{resolved.uri} is a campaign model (trained with --treatment on a flat "
                "table): a campaign model scores flat tables, not event data, so it cannot "
                "recommend touchpoints for leads, be evaluated on decision points or be the "
                "next-touchpoint champion. Name a model trained on event data."
            )
        raise ConfigError(f"{resolved.uri} is not a leadscore next-touchpoint model.")
    return LoadedNextTouchpoint(wrapper.trained, resolved.version, resolved.run_id, resolved.uri)


def run_kind(run_id: str, settings: Settings) -> str:
    """The pipeline kind a run was logged with (its tag ``leadscore.kind``)."""
    run_id = check_run_id(run_id)
    configure_mlflow(settings)
    with quiet_mlflow():
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        try:
            tags = MlflowClient().get_run(run_id).data.tags
        except MlflowException as exc:
            raise ConfigError(
                f"No run {run_id} in the tracking store {settings.tracking_uri}: {exc.message}"
            ) from exc
    return str(tags.get("leadscore.kind", "propensity"))


def promote_next_touchpoint(
    run_id: str, *, settings: Settings, force: bool = False, reason: str | None = None
) -> Promotion:
    """Make the model of ``run_id`` the next-touchpoint champion if it beats the current one
    (see the module docstring for the rule)."""
    run_id = check_run_id(run_id)
    reason = (reason or "").strip() or None
    if force and reason is None:
        raise UsageError(
            "A forced promotion needs a reason (--reason TEXT); it is recorded with the "
            "model version."
        )
    loaded = load_next_touchpoint(run_id, settings)
    if loaded.version is None:
        raise ConfigError(
            f"Run {run_id} has no registered version of {NEXT_TOUCHPOINT_MODEL_NAME}; promote "
            "a run logged by `leadscore train --pipeline pipelines/next-touchpoint.yaml`."
        )
    version = loaded.version
    test = run_artifact(run_id, _TEST, settings)
    judge = loaded.trained.model
    value = greedy_policy_value(judge, judge, test)
    previous = champion_version(settings, NEXT_TOUCHPOINT_MODEL_NAME)

    def outcome(promoted: bool, champion: float | None, text: str) -> Promotion:
        return Promotion(
            promoted, run_id, version, previous, PROMOTION_METRIC, value, champion, text, force
        )

    def record(text: str, forced: bool) -> None:
        with quiet_mlflow():
            record_promotion(run_id, version, text, forced=forced, name=NEXT_TOUCHPOINT_MODEL_NAME)

    if previous == version:
        return outcome(True, value, f"Version {version} (run {run_id}) is already the champion.")
    if force:
        text = f"Forced promotion of version {version} (run {run_id}): {reason}"
        record(text, True)
        return outcome(True, None, text)
    if previous is None:
        text = (
            f"No champion yet: version {version} (run {run_id}) becomes the first champion, "
            f"with an estimated policy value of {value:.4f} on its test decision points."
        )
        record(text, False)
        return outcome(True, None, text)
    champion = load_next_touchpoint(
        f"models:/{NEXT_TOUCHPOINT_MODEL_NAME}/{previous}", settings
    ).trained.model
    missing = [c for c in champion.encoder_.names_ if c not in test.columns]
    if missing:
        raise UsageError(
            f"Cannot compare run {run_id} with the champion (version {previous}) on the same "
            f"decision points: the champion reads state columns the run's test decision points "
            f"lack, e.g. {missing[:3]}. Promote anyway with `--force --reason TEXT`."
        )
    champion_value = greedy_policy_value(judge, champion, test)
    figures = (
        f"estimated policy value {value:.4f} (doubly robust, greedy policy) on the run's "
        f"{test.height:,} test decision points against {champion_value:.4f} for the champion "
        f"(version {previous}) on the same points"
    )
    if value > champion_value:
        text = f"Version {version} (run {run_id}) beats the champion: {figures}."
        record(text, False)
        return outcome(True, champion_value, text)
    return outcome(
        False,
        champion_value,
        f"Not promoted: version {version} (run {run_id}) does not beat the champion: "
        f"{figures}. The champion stays; to promote anyway use --force --reason TEXT.",
    )
