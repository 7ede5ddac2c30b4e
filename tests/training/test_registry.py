"""Promotion to champion in a real MLflow registry in a temp folder."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest

from leadscore.data.simulator import SimulationConfig, Tables, simulate
from leadscore.errors import ConfigError, UsageError
from leadscore.evaluation import binary_metrics
from leadscore.features import build_features
from leadscore.settings import Settings
from leadscore.training.config import DEFAULT_LIGHTGBM, ModelConfig, PipelineConfig
from leadscore.training.model import PropensityModel
from leadscore.training.propensity import TrainedPropensity, train_propensity
from leadscore.training.registry import (
    PROMOTION_METRIC,
    candidate_holdout,
    champion_version,
    promote,
)
from leadscore.training.tracking import (
    CHAMPION_ALIAS,
    PROPENSITY_MODEL_NAME,
    RunRecord,
    configure_mlflow,
    log_propensity_run,
    quiet_mlflow,
)

# The shipped LightGBM defaults need more data: with 1,500 leads the training fold holds about
# 500 snapshots, fewer than their min_child_samples, and the trees would not split. One thread
# keeps OpenMP from spinning against other work on small machines.
LIGHTGBM = {**DEFAULT_LIGHTGBM, "min_child_samples": 50, "min_data_per_group": 50, "num_threads": 1}


@pytest.fixture(scope="module")
def tables() -> Tables:
    return simulate(SimulationConfig(leads=1500, seed=3, months=8))


def _train(tables: Tables, max_rounds: int) -> TrainedPropensity:
    config = PipelineConfig(model=ModelConfig(max_rounds=max_rounds, lightgbm=LIGHTGBM))
    return train_propensity(
        tables.leads, tables.touchpoints, tables.outcomes, config, truth=tables.truth
    )


@pytest.fixture(scope="module")
def good(tables: Tables) -> TrainedPropensity:
    return _train(tables, 60)


@pytest.fixture(scope="module")
def weak(tables: Tables) -> TrainedPropensity:
    """Two boosting rounds: ranks the same test snapshots worse than ``good``."""
    return _train(tables, 2)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        return Settings(home=tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module")
def runs(store: Settings, good: TrainedPropensity, weak: TrainedPropensity) -> dict[str, RunRecord]:
    """The good and the weak model, and the good one again with another feature spec."""
    assert good.spec is not None
    other = copy.copy(good.model)
    other.spec_ = good.spec.excluding(["deal_value"])
    regrouped = dataclasses.replace(good, model=other, spec=other.spec_)
    return {
        name: log_propensity_run(result, settings=store, data_location="simulated://seed=3")
        for name, result in (("good", good), ("weak", weak), ("other_spec", regrouped))
    }


@pytest.fixture
def settings(store: Settings, runs: dict[str, RunRecord]) -> Iterator[Settings]:
    """The shared store with its runs logged and no champion."""
    yield store
    configure_mlflow(store)
    with quiet_mlflow():
        client = mlflow.MlflowClient()
        if CHAMPION_ALIAS in client.get_registered_model(PROPENSITY_MODEL_NAME).aliases:
            client.delete_registered_model_alias(PROPENSITY_MODEL_NAME, CHAMPION_ALIAS)


def _tags(settings: Settings, record: RunRecord) -> tuple[dict[str, str], dict[str, str]]:
    configure_mlflow(settings)
    with quiet_mlflow():
        client = mlflow.MlflowClient()
        version = client.get_model_version(PROPENSITY_MODEL_NAME, str(record.version))
        return version.tags, client.get_run(record.run_id).data.tags


def test_no_champion_in_an_empty_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert champion_version(Settings(home=tmp_path)) is None


def test_no_champion_while_the_model_has_no_alias(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = Settings(home=tmp_path)
    configure_mlflow(settings)
    mlflow.MlflowClient().create_registered_model(PROPENSITY_MODEL_NAME)
    assert champion_version(settings) is None


def test_first_candidate_becomes_champion(
    settings: Settings, runs: dict[str, RunRecord], weak: TrainedPropensity
) -> None:
    record = runs["weak"]
    promotion = promote(record.run_id, settings=settings)
    assert promotion.promoted
    assert (promotion.version, promotion.previous_version) == (record.version, None)
    assert promotion.metric == PROMOTION_METRIC == "roc_auc"
    assert promotion.candidate_value == pytest.approx(weak.metrics["roc_auc"])
    assert promotion.champion_value is None
    assert promotion.reason.startswith("No champion yet")
    assert champion_version(settings) == record.version
    version_tags, run_tags = _tags(settings, record)
    assert version_tags["promotion_reason"] == run_tags["promotion_reason"] == promotion.reason
    assert promotion.to_dict()["promoted"] is True


def test_worse_candidate_is_rejected_and_the_alias_stays(
    settings: Settings,
    runs: dict[str, RunRecord],
    good: TrainedPropensity,
    weak: TrainedPropensity,
) -> None:
    promote(runs["good"].run_id, settings=settings)
    promotion = promote(runs["weak"].run_id, settings=settings)
    assert not promotion.promoted
    assert champion_version(settings) == runs["good"].version
    assert promotion.previous_version == runs["good"].version
    assert promotion.candidate_value == pytest.approx(weak.metrics["roc_auc"])
    # Same data and split: the champion's AUC on the candidate's snapshots is its own test AUC.
    assert promotion.champion_value == pytest.approx(good.metrics["roc_auc"])
    assert promotion.candidate_value < promotion.champion_value
    assert f"{promotion.candidate_value:.4f}" in promotion.reason
    assert f"{promotion.champion_value:.4f}" in promotion.reason
    assert promotion.reason.startswith("Not promoted")


def test_better_candidate_replaces_the_champion(
    settings: Settings, runs: dict[str, RunRecord], weak: TrainedPropensity
) -> None:
    promote(runs["weak"].run_id, settings=settings)
    promotion = promote(runs["good"].run_id, settings=settings)
    assert promotion.promoted and not promotion.forced
    assert promotion.previous_version == runs["weak"].version
    assert promotion.champion_value == pytest.approx(weak.metrics["roc_auc"])
    assert champion_version(settings) == runs["good"].version
    assert "beats the champion" in promotion.reason


@pytest.mark.parametrize("reason", [None, "", "   "], ids=["none", "empty", "blank"])
def test_force_needs_a_reason(
    settings: Settings, runs: dict[str, RunRecord], reason: str | None
) -> None:
    promote(runs["good"].run_id, settings=settings)
    with pytest.raises(UsageError, match=r"forced promotion needs a reason \(--reason TEXT\)"):
        promote(runs["weak"].run_id, settings=settings, force=True, reason=reason)
    assert champion_version(settings) == runs["good"].version


def test_force_with_a_reason_promotes_and_records_it(
    settings: Settings, runs: dict[str, RunRecord]
) -> None:
    promote(runs["good"].run_id, settings=settings)
    promotion = promote(
        runs["weak"].run_id, settings=settings, force=True, reason="rollback drill, ticket 42"
    )
    assert promotion.promoted and promotion.forced
    assert champion_version(settings) == runs["weak"].version
    version_tags, run_tags = _tags(settings, runs["weak"])
    assert "rollback drill, ticket 42" in version_tags["promotion_reason"]
    assert version_tags["promotion_forced"] == "true"
    assert run_tags["promotion_reason"] == version_tags["promotion_reason"]


def test_other_features_without_holdout_are_refused(
    settings: Settings, runs: dict[str, RunRecord]
) -> None:
    promote(runs["good"].run_id, settings=settings)
    with pytest.raises(UsageError, match=r"--data PATH.*--force --reason TEXT"):
        promote(runs["other_spec"].run_id, settings=settings)
    assert champion_version(settings) == runs["good"].version


def test_holdout_rebuilds_the_champions_features(
    settings: Settings, runs: dict[str, RunRecord], tables: Tables, good: TrainedPropensity
) -> None:
    promote(runs["good"].run_id, settings=settings)
    holdout = candidate_holdout(runs["other_spec"].run_id, settings=settings)
    assert holdout.data_location == "simulated://seed=3"
    assert holdout.snapshots.columns == ["lead_id", "as_of", "label"]

    def champion_auc(champion: PropensityModel) -> float:
        assert champion.spec_ is not None
        features = build_features(
            tables.leads,
            tables.touchpoints,
            holdout.snapshots.select("lead_id", "as_of"),
            champion.spec_,
        )
        labels = holdout.snapshots["label"].to_numpy()
        return binary_metrics(labels, champion.predict_proba(features))["roc_auc"]

    # The candidate is the champion's model under another spec: a tie, which does not beat it.
    tie = promote(runs["other_spec"].run_id, settings=settings, holdout=champion_auc)
    assert not tie.promoted
    assert tie.champion_value == pytest.approx(good.metrics["roc_auc"])
    beaten = promote(runs["other_spec"].run_id, settings=settings, holdout=lambda _: 0.5)
    assert beaten.promoted and beaten.champion_value == 0.5
    assert champion_version(settings) == runs["other_spec"].version


def test_already_champion(settings: Settings, runs: dict[str, RunRecord]) -> None:
    promote(runs["good"].run_id, settings=settings)
    again = promote(runs["good"].run_id, settings=settings)
    assert again.promoted and "already the champion" in again.reason


@pytest.mark.parametrize(
    ("run_id", "error", "match"),
    [
        ("not-a-run", UsageError, "RUN_ID must be the 32-character"),
        ("0123456789abcdef0123456789abcdef", ConfigError, "No model runs:/0123"),
    ],
    ids=["malformed", "unknown"],
)
def test_bad_run_ids(settings: Settings, run_id: str, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        promote(run_id, settings=settings)
