"""Logging a training run to a real MLflow store in a temp folder and loading the model back."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from leadscore.data.simulator import SimulationConfig, Tables, simulate
from leadscore.errors import ConfigError, UsageError
from leadscore.settings import Settings
from leadscore.training.config import DEFAULT_LIGHTGBM, ModelConfig, PipelineConfig, load_pipeline
from leadscore.training.model import FORMAT_VERSION
from leadscore.training.propensity import TrainedPropensity, train_propensity
from leadscore.training.registry import promote
from leadscore.training.tracking import (
    PROPENSITY_MODEL_NAME,
    RunRecord,
    configure_mlflow,
    ensure_experiment,
    experiment_name,
    load_propensity,
    log_propensity_model,
    log_propensity_run,
    pyfunc_input,
    quiet_mlflow,
)

ARTIFACTS = {
    "assessment.json",
    "calibration_by_segment.csv",
    "data_fingerprint.json",
    "feature_spec.json",
    "leakage.json",
    "pipeline.yaml",
    "plots",
    "readiness.json",
    "split.json",
    "test_features.parquet",
    "test_predictions.parquet",
}
PLOTS = {
    "calibration.png",
    "gain_lift.png",
    "importance.png",
    "precision_recall.png",
    "roc.png",
    "shap_summary.png",
}


# The shipped LightGBM defaults need more data: with 1,500 leads the training fold holds about
# 500 snapshots, fewer than their min_child_samples, and the trees would not split. One thread
# keeps OpenMP from spinning against other work on small machines.
LIGHTGBM = {**DEFAULT_LIGHTGBM, "min_child_samples": 50, "min_data_per_group": 50, "num_threads": 1}


@pytest.fixture(scope="module")
def tables() -> Tables:
    return simulate(SimulationConfig(leads=1500, seed=3, months=8))


@pytest.fixture(scope="module")
def result(tables: Tables) -> TrainedPropensity:
    config = PipelineConfig(model=ModelConfig(max_rounds=60, lightgbm=LIGHTGBM))
    return train_propensity(
        tables.leads, tables.touchpoints, tables.outcomes, config, truth=tables.truth
    )


def embedded_settings(home: Path, template: Path | None = None) -> Settings:
    """Settings of an embedded store under ``home``, never the environment's tracking URI."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        settings = Settings(home=home)
    if template is not None:
        settings.models_dir.mkdir(parents=True)
        shutil.copy(template, settings.models_dir / "mlflow.db")
    return settings


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow database with its tables created (that takes seconds), copied per store."""
    settings = embedded_settings(tmp_path_factory.mktemp("template"))
    configure_mlflow(settings)
    with quiet_mlflow():
        mlflow.MlflowClient().search_experiments()
    return settings.models_dir / "mlflow.db"


@pytest.fixture
def settings(tmp_path: Path, empty_store: Path) -> Settings:
    return embedded_settings(tmp_path, empty_store)


@pytest.fixture(scope="module")
def logged(
    result: TrainedPropensity, tmp_path_factory: pytest.TempPathFactory, empty_store: Path
) -> Iterator[tuple[Settings, RunRecord]]:
    """One logged run, promoted to champion, in a store shared by this module."""
    settings = embedded_settings(tmp_path_factory.mktemp("store"), empty_store)
    record = log_propensity_run(
        result, settings=settings, data_location="simulated://seed=3", run_name="test"
    )
    promote(record.run_id, settings=settings)
    yield settings, record


def test_configure_mlflow_uses_the_embedded_store(tmp_path: Path) -> None:
    settings = embedded_settings(tmp_path)
    uri = configure_mlflow(settings)
    assert uri == f"sqlite:///{tmp_path.resolve() / 'models' / 'mlflow.db'}"
    assert (tmp_path / "models" / "artifacts").is_dir()
    assert mlflow.get_tracking_uri() == uri


def test_tracking_uri_from_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", other)
    assert configure_mlflow(Settings(home=tmp_path)) == other
    assert not (tmp_path / "models").exists()


def test_experiment_keeps_artifacts_under_the_store(settings: Settings) -> None:
    experiment_id = ensure_experiment("leadscore-propensity", settings)
    assert ensure_experiment("leadscore-propensity", settings) == experiment_id
    with quiet_mlflow():
        experiment = mlflow.MlflowClient().get_experiment(experiment_id)
    assert experiment.artifact_location == f"{settings.artifact_location}/leadscore-propensity"


def test_run_logs_params_tags_and_metrics(
    logged: tuple[Settings, RunRecord], result: TrainedPropensity
) -> None:
    settings, record = logged
    assert record.version == 1
    assert record.model_uri == f"models:/{PROPENSITY_MODEL_NAME}/1"
    assert record.experiment == experiment_name("propensity") == "leadscore-propensity"
    configure_mlflow(settings)
    with quiet_mlflow():
        run = mlflow.MlflowClient().get_run(record.run_id)
    params, tags, metrics = run.data.params, run.data.tags, run.data.metrics
    split = result.split.to_dict()
    assert params["model.lightgbm.num_leaves"] == str(result.config.model.lightgbm["num_leaves"])
    assert params["horizon_days"] == "90"
    assert params["snapshots.cadence_days"] == "7"
    assert params["model.max_rounds"] == "60"
    assert params["split.test_start"] == split["test_start"]
    assert params["split.train_rows"] == str(split["train_rows"])
    assert params["split.test_rows"] == str(result.test.height)
    assert params["model.best_iteration"] == str(result.model.best_iteration_)
    assert params["data_location"] == "simulated://seed=3"
    for table in ("leads", "touchpoints", "outcomes"):
        assert tags[f"data.{table}.rows"] == str(result.fingerprint[table]["rows"])
        assert tags[f"data.{table}.sha256"] == result.fingerprint[table]["sha256"]
    assert tags["data.leads.rows"] == "1500"
    assert tags["readiness"] == result.assessment.verdict.level
    assert tags["leakage.suspected"] == ",".join(
        dict.fromkeys(s.column for s in result.leakage.suspects)
    )
    assert tags["leadscore.format_version"] == str(FORMAT_VERSION)
    for name, value in result.metrics.items():
        assert metrics[f"test_{name}"] == pytest.approx(value)
    assert result.assessment.baseline is not None and result.assessment.oracle is not None
    for name, value in result.assessment.baseline.items():
        assert metrics[f"baseline_{name}"] == pytest.approx(value)
    for name, value in result.assessment.oracle.items():
        assert metrics[f"oracle_{name}"] == pytest.approx(value)


def test_run_logs_artifacts(
    logged: tuple[Settings, RunRecord], result: TrainedPropensity, tmp_path: Path
) -> None:
    settings, record = logged
    configure_mlflow(settings)
    with quiet_mlflow():
        client = mlflow.MlflowClient()
        top = {a.path for a in client.list_artifacts(record.run_id)}
        plots = {a.path for a in client.list_artifacts(record.run_id, "plots")}
        folder = Path(client.download_artifacts(record.run_id, "", str(tmp_path)))
    assert top == ARTIFACTS
    assert plots == {f"plots/{name}" for name in PLOTS}
    for name in PLOTS:
        assert (folder / "plots" / name).read_bytes().startswith(b"\x89PNG")
    assert result.spec is not None
    spec = json.loads((folder / "feature_spec.json").read_text(encoding="utf-8"))
    assert spec == result.spec.model_dump(mode="json")
    assert load_pipeline(folder / "pipeline.yaml") == result.config
    fingerprint = json.loads((folder / "data_fingerprint.json").read_text(encoding="utf-8"))
    assert fingerprint == result.fingerprint
    readiness = json.loads((folder / "readiness.json").read_text(encoding="utf-8"))
    assert readiness == result.assessment.verdict.to_dict()
    assert pd.read_csv(folder / "calibration_by_segment.csv").shape[0] == (
        result.assessment.segments.height
    )
    predictions = pd.read_parquet(folder / "test_predictions.parquet")
    assert predictions.shape[0] == result.test.height
    assert list(predictions.columns) == result.test.columns
    assert str(folder).startswith(str(tmp_path))
    artifacts = settings.models_dir / "artifacts" / "leadscore-propensity"
    assert any(artifacts.rglob("test_features.parquet"))


@pytest.mark.parametrize(
    "reference",
    [
        "champion",
        "models:/leadscore-propensity@champion",
        "models:/leadscore-propensity/1",
        "runs:/{run_id}/model",
        "{run_id}",
    ],
    ids=["shorthand", "alias-uri", "version-uri", "runs-uri", "run-id"],
)
def test_loaded_model_gives_identical_probabilities(
    logged: tuple[Settings, RunRecord], result: TrainedPropensity, reference: str
) -> None:
    settings, record = logged
    loaded = load_propensity(reference.format(run_id=record.run_id), settings)
    assert (loaded.version, loaded.run_id) == (1, record.run_id)
    np.testing.assert_array_equal(
        loaded.model.predict_proba(result.test_features), result.test["probability"].to_numpy()
    )
    assert loaded.model.feature_names == result.model.feature_names


def test_pyfunc_model_predicts_the_same_probabilities(
    logged: tuple[Settings, RunRecord], result: TrainedPropensity
) -> None:
    settings, record = logged
    configure_mlflow(settings)
    pyfunc = mlflow.pyfunc.load_model(record.model_uri)
    frame = pyfunc_input(result.model, result.test_features)
    assert list(frame.columns) == list(result.model.feature_names)
    predicted = pyfunc.predict(frame)
    np.testing.assert_array_equal(
        np.asarray(predicted, dtype=np.float64), result.test["probability"].to_numpy()
    )
    inputs = pyfunc.metadata.get_input_schema()
    assert inputs.input_names() == list(result.model.feature_names)
    assert not any(column.required for column in inputs.inputs)
    assert pyfunc.metadata.metadata["leadscore"]["format_version"] == FORMAT_VERSION


def test_pyfunc_model_accepts_missing_values(
    logged: tuple[Settings, RunRecord], result: TrainedPropensity
) -> None:
    settings, record = logged
    configure_mlflow(settings)
    pyfunc = mlflow.pyfunc.load_model(record.model_uri)
    features = result.test_features.head(20).with_columns(source=None, company_size=None)
    frame = pyfunc_input(result.model, features)
    np.testing.assert_array_equal(
        np.asarray(pyfunc.predict(frame), dtype=np.float64),
        result.model.predict_proba(features),
    )


def test_other_format_version_is_refused(
    logged: tuple[Settings, RunRecord], result: TrainedPropensity
) -> None:
    settings, _ = logged
    future = copy.copy(result.model)
    future.format_version_ = FORMAT_VERSION + 1
    experiment_id = ensure_experiment("leadscore-format-test", settings)
    with quiet_mlflow(), mlflow.start_run(experiment_id=experiment_id) as run:
        log_propensity_model(future, result.test_features)
    with pytest.raises(ConfigError, match=f"format version {FORMAT_VERSION + 1}"):
        load_propensity(run.info.run_id, settings)
    with pytest.raises(ConfigError, match="reads format version"):
        mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")


def test_no_champion_yet(settings: Settings) -> None:
    with pytest.raises(ConfigError, match=r"No champion model yet: train one with `leadscore"):
        load_propensity("champion", settings)


@pytest.mark.parametrize(
    ("reference", "error", "match"),
    [
        ("models:/other-model/1", UsageError, "Cannot read the model reference"),
        ("models:/leadscore-propensity/99", ConfigError, "No model models:/leadscore"),
        ("0123456789abcdef0123456789abcdef", ConfigError, "No model runs:/0123"),
        ("s3://bucket/model", UsageError, "Use `champion`, a run id"),
    ],
    ids=["other-model", "missing-version", "missing-run", "other-scheme"],
)
def test_bad_references(
    logged: tuple[Settings, RunRecord], reference: str, error: type[Exception], match: str
) -> None:
    settings, _ = logged
    with pytest.raises(error, match=match):
        load_propensity(reference, settings)


def test_test_features_must_match_the_test_rows(
    result: TrainedPropensity, settings: Settings
) -> None:
    with pytest.raises(UsageError, match="test_features must hold the test snapshots"):
        log_propensity_run(
            result,
            settings=settings,
            data_location="x",
            test_features=result.test_features.head(10),
        )
