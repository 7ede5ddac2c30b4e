"""Tracking training runs in MLflow and loading registered propensity models back.

The embedded default store is SQLite at ``models/mlflow.db`` with artifacts under
``models/artifacts/<experiment>``; ``MLFLOW_TRACKING_URI`` points elsewhere (a tracking
server, another database). Each pipeline has its own experiment, ``leadscore-<name>``.

A logged run holds everything needed to judge and rebuild the model: the flattened pipeline
configuration as parameters, the data fingerprint, the test metrics of the model, its baseline
and (with simulated data) the oracle, the charts, the resolved feature spec, the test
predictions and features, and the model itself, registered as a new version of
``leadscore-propensity``.

The registered model is an MLflow pyfunc (:class:`PropensityPyfunc`) whose input is the
finished feature matrix as a pandas DataFrame (columns ``model.feature_names``, categorical
features as strings, the others as floats; see :func:`pyfunc_input`) and whose output is the
calibrated probability of each row. The fitted :class:`PropensityModel` itself is stored
pickled next to a small JSON file with its format and library versions; a model of another
format version is refused with :class:`~leadscore.errors.ConfigError`.

MLflow is imported here and in :mod:`leadscore.training.registry` only, and only when a
function needs it (importing MLflow takes seconds), so importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import pickle
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd
import polars as pl
import yaml
from pandas.errors import Pandas4Warning

from leadscore.errors import ConfigError, UsageError
from leadscore.evaluation import (
    calibration_plot,
    gain_lift_plot,
    importance_plot,
    precision_recall_plot,
    roc_plot,
    shap_summary_plot,
)
from leadscore.settings import Settings
from leadscore.training.model import FORMAT_VERSION, PropensityModel
from leadscore.training.propensity import TrainedPropensity

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.models import ModelSignature
    from mlflow.models.model import ModelInfo

    PropensityPyfunc: type[Any]  # defined on first use by the module's __getattr__

__all__ = [
    "CHAMPION_ALIAS",
    "MODEL_NAME",
    "PROPENSITY_MODEL_NAME",
    "LoadedModel",
    "ModelReference",
    "PropensityPyfunc",
    "RunRecord",
    "configure_mlflow",
    "ensure_experiment",
    "experiment_name",
    "load_propensity",
    "log_propensity_model",
    "log_propensity_run",
    "pyfunc_input",
    "quiet_mlflow",
    "read_propensity_model",
    "resolve_model",
]

PROPENSITY_MODEL_NAME: Final = "leadscore-propensity"
"""The registered model of the propensity pipeline."""
CHAMPION_ALIAS: Final = "champion"
"""The registry alias of the model that scores leads."""
MODEL_NAME: Final = "model"
"""The name the model is logged under in its run (``runs:/<run_id>/model``)."""
SHAP_ROWS: Final = 2_000
"""Test rows the SHAP summary is drawn from, at most."""
EXAMPLE_ROWS: Final = 5
"""Rows of the input example stored with the model."""

_ARTIFACT_KEY: Final = "propensity_model"
_PICKLE: Final = "model.pkl"
_VERSIONS: Final = "versions.json"
_REQUIREMENTS: Final = (
    "leadscore",
    "mlflow",
    "lightgbm",
    "scikit-learn",
    "numpy",
    "pandas",
    "polars",
    "pyarrow",
    "pydantic",
)
_RUN_ID: Final = re.compile(r"[0-9a-f]{32}")
_ALIAS: Final = r"[A-Za-z][\w-]*"
_NO_CHAMPION: Final = (
    "No champion model yet: train one with `leadscore train` and promote it with "
    "`leadscore promote RUN_ID`."
)

# Warnings MLflow 3.17 causes itself, each matched narrowly by message and category:
# - SQLAlchemy 2.1 deprecates the ``noload`` loader strategy MLflow's SQLite store uses; raised
#   once when the store's mappers are configured.
# - importing ``mlflow.pyfunc`` infers schemas of MLflow's own agent types and warns that
#   their ``Any`` fields cannot be validated.
# - pandas 3 deprecates comparing an Index with ``range``, which MLflow does while saving a
#   DataFrame input example (``mlflow/models/utils.py``).
_MLFLOW_WARNINGS: Final = (
    (r"The ``noload`` loader strategy is deprecated", DeprecationWarning),
    (r".*Any type hint is inferred as AnyType", UserWarning),
    (r"Operation with range is deprecated", Pandas4Warning),
)


@contextlib.contextmanager
def quiet_mlflow() -> Iterator[None]:
    """Import MLflow and run MLflow calls without its own warnings and chatter reaching the user.

    Filters the warnings listed in ``_MLFLOW_WARNINGS`` and lifts the ``mlflow`` logger to
    ERROR for the duration (MLflow logs database migrations, uv project detection and a
    missing ``pip`` as INFO/WARNING records). Both are restored on exit; like
    :func:`warnings.catch_warnings` this is not thread-safe.
    """
    with warnings.catch_warnings():
        for message, category in _MLFLOW_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category)
        # The first import configures MLflow's loggers, so it comes before lifting the level.
        import mlflow.models
        import mlflow.pyfunc  # noqa: F401

        logger = logging.getLogger("mlflow")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            logger.setLevel(level)


# -- store ---------------------------------------------------------------------------------


def configure_mlflow(settings: Settings) -> str:
    """Point MLflow at ``settings.tracking_uri`` and return it.

    For the embedded store (no ``MLFLOW_TRACKING_URI``) the folders ``models/`` and
    ``models/artifacts/`` are created first.
    """
    if settings.mlflow_tracking_uri is None:
        (settings.models_dir / "artifacts").mkdir(parents=True, exist_ok=True)
    uri = settings.tracking_uri
    before = os.environ.get("MLFLOW_TRACKING_URI")
    with quiet_mlflow():
        import mlflow

        mlflow.set_tracking_uri(uri)
    # MLflow exports the URI to the environment; restore it so that the next settings read
    # in this process (another LEADSCORE_HOME, say) still sees what the user set.
    if before is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = before
    return uri


def experiment_name(pipeline: str) -> str:
    """The MLflow experiment of a pipeline: ``leadscore-<pipeline name>``."""
    return f"leadscore-{pipeline}"


def ensure_experiment(name: str, settings: Settings) -> str:
    """The id of experiment ``name``, created if missing.

    In the embedded store a new experiment keeps its artifacts under
    ``settings.artifact_location/<name>`` (MLflow would otherwise use ``./mlruns`` of the
    current directory); a tracking server chooses its own location.
    """
    configure_mlflow(settings)
    with quiet_mlflow():
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        client = MlflowClient()
        try:
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                location = None
                if settings.mlflow_tracking_uri is None:
                    location = f"{settings.artifact_location}/{name}"
                return client.create_experiment(name, artifact_location=location)
        except MlflowException as exc:
            raise ConfigError(
                f"Cannot open the MLflow experiment {name!r} at {settings.tracking_uri}: "
                f"{exc.message}"
            ) from exc
    if experiment.lifecycle_stage != "active":
        raise ConfigError(
            f"The MLflow experiment {name!r} is deleted; restore it (`mlflow experiments "
            "restore`) or delete it permanently before training again."
        )
    return str(experiment.experiment_id)


# -- the pyfunc model ----------------------------------------------------------------------


def pyfunc_input(model: PropensityModel, features: pl.DataFrame) -> pd.DataFrame:
    """The pyfunc model's input for a feature frame: ``model.feature_names`` in order,
    categorical features as strings, the others as float64 (missing values as NaN)."""
    categorical = set(model.encoder_.categorical_)
    missing = [name for name in model.feature_names if name not in features.columns]
    if missing:
        raise UsageError(
            f"The feature frame lacks {len(missing)} column(s) the model reads, e.g. "
            f"{missing[:3]}; build it with the model's feature spec."
        )
    return features.select(
        pl.col(name).cast(pl.String if name in categorical else pl.Float64)
        for name in model.feature_names
    ).to_pandas()


def _polars_features(model: PropensityModel, frame: pd.DataFrame) -> pl.DataFrame:
    """The pyfunc input back as the feature frame the model reads."""
    categorical = set(model.encoder_.categorical_)
    columns = []
    for name in model.feature_names:
        values = frame[name]
        if name in categorical:
            text = values.astype(object).where(values.notna(), None)
            columns.append(pl.Series(name, text.to_list(), dtype=pl.String))
        else:
            numbers = pd.to_numeric(values, errors="coerce")
            columns.append(pl.Series(name, numbers.to_numpy(dtype=np.float64, na_value=np.nan)))
    return pl.DataFrame(columns)


def _write_model(model: PropensityModel, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    versions = {
        "format_version": model.format_version_,
        "library_version": model.library_version_,
    }
    (folder / _VERSIONS).write_text(json.dumps(versions, indent=2), encoding="utf-8")
    with (folder / _PICKLE).open("wb") as handle:
        pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return folder


def _check_format(format_version: object, library_version: object, where: str) -> None:
    if format_version != FORMAT_VERSION:
        raise ConfigError(
            f"The propensity model at {where} has format version {format_version!r} "
            f"(saved by leadscore {library_version}); this leadscore reads format version "
            f"{FORMAT_VERSION}. Retrain it with `leadscore train`, or load it with leadscore "
            f"{library_version}."
        )


def read_propensity_model(folder: str | Path) -> PropensityModel:
    """The pickled model of a folder written with the model, after checking its format.

    Unpickling runs code: read models only from a tracking store you trust.
    """
    folder = Path(folder)
    try:
        versions = json.loads((folder / _VERSIONS).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{folder} holds no readable {_VERSIONS}; it is not a leadscore propensity model."
        ) from exc
    _check_format(versions.get("format_version"), versions.get("library_version"), str(folder))
    with (folder / _PICKLE).open("rb") as handle:
        model = pickle.load(handle)
    if not isinstance(model, PropensityModel):
        raise ConfigError(f"{folder / _PICKLE} does not hold a PropensityModel.")
    _check_format(model.format_version_, model.library_version_, str(folder))
    return model


@functools.cache
def _pyfunc_class() -> type[Any]:
    """Define :class:`PropensityPyfunc` on first use, so that importing this module does not
    import MLflow."""
    with quiet_mlflow():
        from mlflow.pyfunc.model import PythonModel

    class PropensityPyfunc(PythonModel):
        """MLflow's view of a propensity model: feature matrix in, probabilities out.

        The input is a pandas DataFrame with the columns ``model.feature_names`` (categorical
        features as strings, the others as numbers; see :func:`pyfunc_input`); the output is
        a float64 Series ``probability`` with the input's index.
        """

        model: PropensityModel

        def load_context(self, context: Any) -> None:
            """Read the pickled model, refusing another format version."""
            self.model = read_propensity_model(context.artifacts[_ARTIFACT_KEY])

        def predict(
            self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
        ) -> pd.Series:
            """Calibrated probability of each row of ``model_input``."""
            probability = self.model.predict_proba(_polars_features(self.model, model_input))
            return pd.Series(probability, index=model_input.index, name="probability")

    PropensityPyfunc.__module__ = __name__
    PropensityPyfunc.__qualname__ = "PropensityPyfunc"
    return PropensityPyfunc


def __getattr__(name: str) -> Any:
    if name == "PropensityPyfunc":
        return _pyfunc_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_ENTRY_POINT: Final = '''"""Loads a leadscore propensity model for MLflow (models from code)."""

from mlflow.models import set_model

from leadscore.training.tracking import PropensityPyfunc

set_model(PropensityPyfunc())
'''


def _requirements() -> list[str]:
    pins = []
    for name in _REQUIREMENTS:
        try:
            pins.append(f"{name}=={package_version(name)}")
        except PackageNotFoundError:
            pins.append(name)
    return pins


def _signature(model: PropensityModel) -> ModelSignature:
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    categorical = set(model.encoder_.categorical_)
    inputs = Schema(
        [
            ColSpec("string" if name in categorical else "double", name, required=False)
            for name in model.feature_names
        ]
    )
    return ModelSignature(inputs=inputs, outputs=Schema([ColSpec("double", "probability")]))


def log_propensity_model(model: PropensityModel, features: pl.DataFrame) -> ModelInfo:
    """Log ``model`` as an MLflow pyfunc named ``model`` in the active run.

    ``features`` is a feature frame (at least the model's columns) whose first rows become
    the input example. The signature is written out rather than inferred from those rows: a
    string column per categorical feature, a double per other feature, every one optional
    (any feature may be missing for a lead), and a double ``probability`` out. The model's
    format and library versions go into the MLmodel metadata (``leadscore``).
    """
    example = pyfunc_input(model, features.head(EXAMPLE_ROWS))
    with tempfile.TemporaryDirectory(prefix="leadscore-model-") as tmp:
        folder = _write_model(model, Path(tmp) / _ARTIFACT_KEY)
        entry = Path(tmp) / "propensity_pyfunc.py"
        entry.write_text(_ENTRY_POINT, encoding="utf-8")
        with quiet_mlflow():
            import mlflow.pyfunc

            info: ModelInfo = mlflow.pyfunc.log_model(
                name=MODEL_NAME,
                python_model=str(entry),
                artifacts={_ARTIFACT_KEY: str(folder)},
                signature=_signature(model),
                input_example=example,
                pip_requirements=_requirements(),
                metadata={
                    "leadscore": {
                        "format_version": model.format_version_,
                        "library_version": model.library_version_,
                    }
                },
            )
    return info


# -- logging a training run ----------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    """A logged training run and the model version it registered."""

    run_id: str
    model_uri: str
    version: int
    experiment: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "run_id": self.run_id,
            "model_uri": self.model_uri,
            "version": self.version,
            "experiment": self.experiment,
        }


def _flatten(value: Any, prefix: str, out: dict[str, str]) -> dict[str, str]:
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, str):
        out[prefix] = value
    elif isinstance(value, bool | int | float):
        out[prefix] = str(value)
    else:
        out[prefix] = json.dumps(value)
    return out


def _params(result: TrainedPropensity, data_location: str) -> dict[str, str]:
    params = _flatten(result.config.model_dump(mode="json"), "", {})
    params.update(_flatten(result.split.to_dict(), "split", {}))
    params["model.best_iteration"] = str(result.model.best_iteration_)
    used = getattr(result.model, "training_params_", {})
    for key in ("learning_rate", "bagging_fraction"):
        if key in used:
            params[f"model.used.{key}"] = f"{used[key]:.6g}"
    params["data_location"] = data_location
    return params


def _tags(result: TrainedPropensity) -> dict[str, str]:
    tags = {
        "leadscore.pipeline": result.config.name,
        "leadscore.kind": result.config.kind,
        "leadscore.format_version": str(result.model.format_version_),
        "leadscore.library_version": result.model.library_version_,
        "leadscore.input": "events" if result.spec is not None else "flat table",
        "readiness": result.assessment.verdict.level,
        "leakage.suspected": ",".join(dict.fromkeys(s.column for s in result.leakage.suspects)),
        "leakage.excluded": ",".join(result.leakage.excluded_columns),
    }
    for table, facts in result.fingerprint.items():
        tags[f"data.{table}.rows"] = str(facts["rows"])
        tags[f"data.{table}.sha256"] = str(facts["sha256"])
    return tags


def _metrics(result: TrainedPropensity) -> dict[str, float]:
    assessment = result.assessment
    metrics = {f"test_{k}": float(v) for k, v in assessment.metrics.items()}
    for prefix, figures in (("baseline", assessment.baseline), ("oracle", assessment.oracle)):
        metrics.update({f"{prefix}_{k}": float(v) for k, v in (figures or {}).items()})
    metrics["test_rows"] = float(assessment.rows)
    metrics["test_positives"] = float(assessment.positives)
    return metrics


def _curves(test: pl.DataFrame) -> dict[str, np.ndarray[Any, np.dtype[np.float64]]]:
    """Model, baseline and (when every test row has one) oracle probabilities."""
    curves = {
        "model": test["probability"].to_numpy().astype(np.float64),
        "baseline": test["baseline_probability"].to_numpy().astype(np.float64),
    }
    if "p_true" in test.columns:
        p_true = test["p_true"].fill_null(np.nan).to_numpy().astype(np.float64)
        if np.isfinite(p_true).all():
            curves["oracle"] = p_true
    return curves


def _write_plots(result: TrainedPropensity, features: pl.DataFrame, folder: Path) -> None:
    folder.mkdir()
    model = result.model
    labels = result.test["label"].to_numpy()
    if 0 < labels.sum() < labels.shape[0]:
        curves = _curves(result.test)
        roc_plot(labels, curves, path=folder / "roc.png")
        precision_recall_plot(labels, curves, path=folder / "precision_recall.png")
        gain_lift_plot(labels, curves, path=folder / "gain_lift.png")
        calibration_plot(labels, curves, path=folder / "calibration.png")
    importance = model.feature_importance()
    importance_plot(list(importance), list(importance.values()), path=folder / "importance.png")
    sample = features
    if features.height > SHAP_ROWS:
        sample = features.sample(SHAP_ROWS, seed=result.config.split.seed).sort("as_of")
    shap_summary_plot(
        model.contributions(model.transform(sample)),
        sample.select(model.feature_names),
        model.feature_names,
        path=folder / "shap_summary.png",
    )


def _write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")


def _write_artifacts(result: TrainedPropensity, features: pl.DataFrame, folder: Path) -> None:
    _write_json(folder / "data_fingerprint.json", result.fingerprint)
    if result.spec is not None:
        _write_json(folder / "feature_spec.json", result.spec.model_dump(mode="json"))
    if result.notes:
        _write_json(folder / "notes.json", result.notes)
    (folder / "pipeline.yaml").write_text(
        yaml.safe_dump(result.config.model_dump(mode="json"), sort_keys=False), encoding="utf-8"
    )
    _write_json(folder / "leakage.json", result.leakage.to_dict())
    _write_json(folder / "readiness.json", result.assessment.verdict.to_dict())
    _write_json(folder / "assessment.json", result.assessment.to_dict())
    _write_json(folder / "split.json", result.split.to_dict())
    result.assessment.segments.write_csv(folder / "calibration_by_segment.csv")
    result.test.write_parquet(folder / "test_predictions.parquet")
    features.write_parquet(folder / "test_features.parquet")
    _write_plots(result, features, folder / "plots")


def _checked_features(result: TrainedPropensity, test_features: pl.DataFrame) -> pl.DataFrame:
    keys = ["lead_id", "as_of"]
    if not set(keys) <= set(test_features.columns) or not test_features.select(keys).equals(
        result.test.select(keys)
    ):
        raise UsageError(
            "test_features must hold the test snapshots of the result in the same order, with "
            f"lead_id and as_of equal to result.test's ({result.test.height:,} rows); got "
            f"{test_features.height:,} rows with columns {test_features.columns[:3]}."
        )
    missing = [n for n in result.model.feature_names if n not in test_features.columns]
    if missing:
        raise UsageError(
            f"test_features lacks {len(missing)} feature column(s) of the model, e.g. "
            f"{missing[:3]}; build it with the result's feature spec."
        )
    return test_features


def _register(client: MlflowClient, info: ModelInfo, run_id: str, model: PropensityModel) -> int:
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(
            PROPENSITY_MODEL_NAME,
            description="leadscore: calibrated probability that an open lead converts.",
        )
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    version = client.create_model_version(
        PROPENSITY_MODEL_NAME,
        source=info.model_uri,
        run_id=run_id,
        model_id=info.model_id,
        tags={
            "leadscore.format_version": str(model.format_version_),
            "leadscore.library_version": model.library_version_,
        },
    )
    return int(version.version)


def log_propensity_run(
    result: TrainedPropensity,
    *,
    settings: Settings,
    data_location: str,
    test_features: pl.DataFrame | None = None,
    run_name: str | None = None,
) -> RunRecord:
    """Log a training result as one MLflow run and register its model as a new version.

    ``test_features`` (default ``result.test_features``) is the feature frame of the test
    snapshots: the rows of ``result.test`` in the same order, with ``lead_id``, ``as_of`` and
    at least the model's feature columns. ``data_location`` says where the training data came
    from (a path or URL); promotion uses it to rebuild the holdout for a champion with other
    features.

    Logged:

    - parameters: the flattened pipeline configuration (``horizon_days``,
      ``snapshots.cadence_days``, ``model.lightgbm.num_leaves``, …), the split's boundaries
      and rows per fold (``split.*``), ``model.best_iteration`` and ``data_location``;
    - tags: ``data.<table>.rows`` and ``data.<table>.sha256``, ``readiness`` (the verdict
      level), ``leakage.suspected`` and ``leakage.excluded`` (comma-separated columns),
      ``leadscore.format_version``, ``leadscore.library_version``, ``leadscore.input``;
    - metrics: ``test_<name>`` of the model, ``baseline_<name>``, ``oracle_<name>`` (when the
      truth was given), ``test_rows``, ``test_positives``;
    - artifacts: ``data_fingerprint.json``, ``feature_spec.json`` (the resolved spec; a
      flat-table model has ``notes.json`` instead), ``pipeline.yaml``, ``leakage.json``,
      ``readiness.json``, ``assessment.json``, ``split.json``,
      ``calibration_by_segment.csv``, ``test_predictions.parquet``,
      ``test_features.parquet`` and the charts ``plots/roc.png``,
      ``plots/precision_recall.png``, ``plots/gain_lift.png``, ``plots/calibration.png``,
      ``plots/importance.png`` (gain) and ``plots/shap_summary.png`` (up to 2,000 test rows);
    - the model as ``model`` (see :func:`log_propensity_model`), registered as a new version
      of ``leadscore-propensity``.
    """
    features = _checked_features(
        result, result.test_features if test_features is None else test_features
    )
    experiment = experiment_name(result.config.name)
    experiment_id = ensure_experiment(experiment, settings)
    with quiet_mlflow():
        import mlflow
        from mlflow.exceptions import MlflowException

        # With a tracking server MLflow prints the run's URL to stdout when the run ends;
        # stdout may carry JSON for a program, so the URL goes to stderr.
        try:
            with (
                contextlib.redirect_stdout(sys.stderr),
                mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run,
            ):
                run_id = run.info.run_id
                mlflow.log_params(_params(result, data_location))
                mlflow.set_tags(_tags(result))
                mlflow.log_metrics(_metrics(result))
                with tempfile.TemporaryDirectory(prefix="leadscore-run-") as tmp:
                    _write_artifacts(result, features, Path(tmp))
                    mlflow.log_artifacts(tmp)
                info = log_propensity_model(result.model, features)
                version = _register(mlflow.MlflowClient(), info, run_id, result.model)
        except MlflowException as exc:
            raise ConfigError(
                f"Logging the training run to {settings.tracking_uri} failed: {exc.message}"
            ) from exc
    return RunRecord(
        run_id=run_id,
        model_uri=f"models:/{PROPENSITY_MODEL_NAME}/{version}",
        version=version,
        experiment=experiment,
    )


# -- loading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedModel:
    """A propensity model read from the registry or a run, with where it came from."""

    model: PropensityModel
    version: int | None
    run_id: str
    uri: str


@dataclass(frozen=True)
class ModelReference:
    """A resolved model reference: an MLflow model URI, its registered version, its run."""

    uri: str
    version: int | None
    run_id: str


def _by_alias(client: MlflowClient, alias: str, name: str = PROPENSITY_MODEL_NAME) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        missing = exc.error_code in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")
        if missing and alias == CHAMPION_ALIAS:
            if name != PROPENSITY_MODEL_NAME:
                raise ConfigError(
                    f"There is no champion of {name} yet: train one and promote it with "
                    "`leadscore promote RUN_ID`."
                ) from exc
            raise ConfigError(_NO_CHAMPION) from exc
        raise


def _version_of_run(
    client: MlflowClient, run_id: str, name: str = PROPENSITY_MODEL_NAME
) -> int | None:
    versions = client.search_model_versions(f"name='{name}' and run_id='{run_id}'")
    return max((int(v.version) for v in versions), default=None)


def resolve_model(
    reference: str, settings: Settings, name: str = PROPENSITY_MODEL_NAME
) -> ModelReference:
    """Where a model reference points: URI, registered version (None if unregistered), run.

    Accepted: ``champion`` (or another alias name), ``models:/NAME@ALIAS``,
    ``models:/NAME/VERSION``, ``runs:/RUN_ID/model`` and a bare run id, where ``NAME`` is
    the registered model ``name`` (default ``leadscore-propensity``).
    Raises :class:`~leadscore.errors.UsageError` for other forms and
    :class:`~leadscore.errors.ConfigError` when the store has no such model or champion.
    """
    configure_mlflow(settings)
    prefix = f"models:/{name}"
    uri = reference.strip()
    if _RUN_ID.fullmatch(uri):
        uri = f"runs:/{uri}/{MODEL_NAME}"
    elif re.fullmatch(_ALIAS, uri):
        uri = f"{prefix}@{uri}"
    alias = re.fullmatch(re.escape(prefix) + "@(" + _ALIAS + ")", uri)
    number = re.fullmatch(re.escape(prefix) + r"/([0-9]+)", uri)
    run = re.fullmatch(r"runs:/([0-9a-f]{32})/" + MODEL_NAME, uri)
    if not (alias or number or run):
        raise UsageError(
            f"Cannot read the model reference {reference!r}. Use `champion`, a run id, "
            f"`{prefix}@ALIAS`, `{prefix}/VERSION` or `runs:/RUN_ID/{MODEL_NAME}`."
        )
    with quiet_mlflow():
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        client = MlflowClient()
        try:
            if alias:
                found = _by_alias(client, alias.group(1), name)
            elif number:
                found = client.get_model_version(name, number.group(1))
            else:
                run_id = run.group(1) if run else ""
                client.get_run(run_id)
                return ModelReference(uri, _version_of_run(client, run_id, name), run_id)
        except MlflowException as exc:
            raise ConfigError(
                f"No model {uri} in the tracking store {settings.tracking_uri}: {exc.message}"
            ) from exc
    return ModelReference(uri, int(found.version), str(found.run_id))


def load_propensity(model_uri: str, settings: Settings) -> LoadedModel:
    """Load a logged propensity model; see :func:`resolve_model` for the references.

    Raises :class:`~leadscore.errors.ConfigError` when the model does not exist, when there
    is no champion yet, or when it was saved in another format version.
    """
    resolved = resolve_model(model_uri, settings)
    with quiet_mlflow():
        import mlflow.pyfunc
        from mlflow.exceptions import MlflowException
        from mlflow.models import get_model_info

        try:
            metadata = get_model_info(resolved.uri).metadata or {}
            facts = metadata.get("leadscore", {})
            _check_format(facts.get("format_version"), facts.get("library_version"), resolved.uri)
            wrapper = mlflow.pyfunc.load_model(resolved.uri).unwrap_python_model()
        except MlflowException as exc:
            raise ConfigError(f"Cannot load the model {resolved.uri}: {exc.message}") from exc
    if not isinstance(wrapper, _pyfunc_class()):
        raise ConfigError(f"{resolved.uri} is not a leadscore propensity model.")
    return LoadedModel(wrapper.model, resolved.version, resolved.run_id, resolved.uri)
