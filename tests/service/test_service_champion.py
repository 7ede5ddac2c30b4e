"""A promotion is picked up without a restart and without a failed request."""

from __future__ import annotations

import copy
import threading
import uuid
from pathlib import Path

import pytest
from service_support import Client, TestClient, make_keys, project_from, seed_store

from leadscore.data.simulator import Tables
from leadscore.service import ServiceOptions, create_app
from leadscore.training.propensity import TrainedPropensity
from leadscore.training.registry import champion_version, promote
from leadscore.training.tracking import log_propensity_run


def test_promotion_is_picked_up_while_requests_keep_succeeding(
    mlflow_home: Path,
    tmp_path_factory: pytest.TempPathFactory,
    small_run: Tables,
    trained: TrainedPropensity,
) -> None:
    project = project_from(mlflow_home, tmp_path_factory.mktemp(f"promote-{uuid.uuid4().hex[:6]}"))
    app = create_app(project.settings, ServiceOptions(refresh_seconds=0.2, deliver_webhooks=False))
    statuses: list[int] = []
    versions: set[str] = set()
    stop = threading.Event()
    with pytest.MonkeyPatch.context() as patch, TestClient(app) as http:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        client = Client(http, make_keys(app.state.store), [], small_run)
        client.lead_ids = seed_store(app.state.store, small_run, 20)

        def hammer() -> None:
            while not stop.is_set():
                answer = client.request("POST", "/v1/score", json={"lead_ids": client.lead_ids})
                statuses.append(answer.status_code)
                if answer.status_code == 200:
                    versions.add(answer.json()["model_version"])

        worker = threading.Thread(target=hammer)
        worker.start()
        try:
            second = copy.copy(trained)
            run = log_propensity_run(second, settings=project.settings, data_location="sim://2")
            promoted = promote(run.run_id, settings=project.settings, force=True, reason="test")
            assert promoted.promoted and champion_version(project.settings) == 2
            for _ in range(100):
                ready = client.request("GET", "/readyz").json()
                if ready["model_version"] == "2":
                    break
                stop.wait(0.1)
            assert ready["model_version"] == "2"
            stop.wait(0.5)
        finally:
            stop.set()
            worker.join()
    assert statuses and set(statuses) == {200}
    assert versions == {"1", "2"}
