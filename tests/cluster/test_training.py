"""Training with lightgbm.dask gives an ordinary PropensityModel of the same quality."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from leadscore.cluster import train_on_cluster
from leadscore.cluster.training import _EarlyStopping
from leadscore.data.simulator import Tables
from leadscore.features import build_features
from leadscore.training.model import PropensityModel
from leadscore.training.propensity import TrainedPropensity


@pytest.fixture(scope="module")
def on_cluster(
    client: Any, parts: list[Any], small_run: Tables, trained: TrainedPropensity
) -> TrainedPropensity:
    """The session's small CRM trained on the cluster with the shared model's settings."""
    with threadpool_limits(limits=1, user_api="blas"):
        return train_on_cluster(client, parts, trained.config, truth=small_run.truth)


def test_dask_model_reaches_the_single_machine_auc(
    on_cluster: TrainedPropensity, trained: TrainedPropensity, small_run: Tables
) -> None:
    test = trained.test_features
    assert on_cluster.split.to_dict() == trained.split.to_dict()
    labels = test["label"].to_numpy()
    single = roc_auc_score(labels, trained.model.predict_proba(test))
    dask = roc_auc_score(labels, on_cluster.model.predict_proba(test))
    # The bar. The Dask model is not the single-machine one bit for bit (a feature's
    # bins come from one worker's part, bagging samples each part), so the two differ about as
    # much as single-machine models with other seeds (standard deviation about 0.001 on this
    # CRM): twelve runs of this test gave 0.8146 to 0.8186 against 0.8170.
    assert dask >= single - 0.005, (dask, single)


def test_dask_model_is_an_ordinary_model(
    on_cluster: TrainedPropensity, trained: TrainedPropensity, small_run: Tables
) -> None:
    model = on_cluster.model
    assert isinstance(model, PropensityModel)
    assert model.encoder_.vocabularies_ == trained.model.encoder_.vocabularies_
    assert model.spec_ == trained.model.spec_
    assert 0 < model.best_iteration_ <= on_cluster.config.model.max_rounds
    loaded = pickle.loads(pickle.dumps(model))
    features = on_cluster.test_features
    np.testing.assert_array_equal(loaded.predict_proba(features), model.predict_proba(features))
    assert on_cluster.assessment.oracle is not None
    assert on_cluster.notes["engine"] == "dask"
    assert on_cluster.fingerprint["leads"]["rows"] == small_run.leads.height


@pytest.mark.parametrize(
    ("losses", "patience", "stopped", "best"),
    [
        ([0.5, 0.4, 0.3, 0.35, 0.36], 2, True, 3),
        ([0.5, 0.4, 0.3, 0.35], 2, False, 3),
        ([0.5, 0.5, 0.5], 2, True, 1),
    ],
    ids=["stops-after-patience", "still-waiting", "ties-are-no-improvement"],
)
def test_early_stopping_rule(losses: list[float], patience: int, stopped: bool, best: int) -> None:
    rule = _EarlyStopping(patience)
    assert rule.update(losses) is stopped
    assert rule.best_round == best


def test_scoring_features_of_the_dask_model(
    on_cluster: TrainedPropensity, small_run: Tables
) -> None:
    spec = on_cluster.model.spec_
    assert spec is not None
    snapshots = on_cluster.test.select("lead_id", "as_of").head(50)
    features = build_features(small_run.leads, small_run.touchpoints, snapshots, spec)
    probability = on_cluster.model.predict_proba(features)
    np.testing.assert_allclose(probability, on_cluster.test["probability"].head(50), atol=1e-12)
