"""Service fixtures: a champion in a temp MLflow store, a store with leads, a running app.

The champion is the session's ``trained`` model, logged and promoted once; each app gets a
home of its own (its SQLite store) that points at that MLflow store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from service_support import Client, Project, TestClient, make_keys, project_from, seed_store

from leadscore.data.simulator import Tables
from leadscore.service import ServiceOptions, create_app
from leadscore.settings import Settings
from leadscore.training.propensity import TrainedPropensity
from leadscore.training.registry import promote
from leadscore.training.tracking import log_propensity_run


@pytest.fixture(scope="session")
def mlflow_home(tmp_path_factory: pytest.TempPathFactory, trained: TrainedPropensity) -> Path:
    """A home whose MLflow store has the session's model as champion (version 1)."""
    home = tmp_path_factory.mktemp("service-mlflow")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        settings = Settings(home=home)
        run = log_propensity_run(trained, settings=settings, data_location="simulated://seed=7")
        assert promote(run.run_id, settings=settings).promoted
    return home


@pytest.fixture(scope="module")
def project(mlflow_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A home of this module's own with the champion."""
    return project_from(mlflow_home, tmp_path_factory.mktemp("service"))


@pytest.fixture(scope="module")
def client(project: Project, small_run: Tables) -> Iterator[Client]:
    """A running app (lifespan included) with 60 stored leads and a key per scope."""
    app = create_app(
        project.settings,
        ServiceOptions(refresh_seconds=0, deliver_webhooks=False, max_body_bytes=200_000),
    )
    with pytest.MonkeyPatch.context() as patch, TestClient(app) as http:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        store = app.state.store
        keys = make_keys(store)
        seeded = seed_store(store, small_run, 60)
        yield Client(http, keys, seeded, small_run)
