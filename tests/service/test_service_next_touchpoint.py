"""With a next-touchpoint champion, the API's scores carry the library's recommendations."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from service_support import Client, TestClient, make_keys, project_from, seed_store

from leadscore.data.simulator import Tables
from leadscore.features import build_features
from leadscore.scoring.score import recommendations
from leadscore.service import ServiceOptions, create_app
from leadscore.settings import Settings
from leadscore.training.next_touchpoint_config import (
    DecisionConfig,
    EstimatorConfig,
    NextTouchpointConfig,
)
from leadscore.training.next_touchpoint_tracking import (
    log_next_touchpoint_run,
    promote_next_touchpoint,
)
from leadscore.training.next_touchpoint_training import (
    TrainedNextTouchpoint,
    train_next_touchpoint,
)
from leadscore.training.next_touchpoint_workflow import assess_next_touchpoint
from leadscore.training.propensity import TrainedPropensity

FAST = NextTouchpointConfig(
    decisions=DecisionConfig(none_share=0.1),
    estimator=EstimatorConfig(
        folds=2,
        propensity_rounds=30,
        outcome_rounds=40,
        effect_rounds=30,
        effect_min_child_samples=200,
    ),
)


@pytest.fixture(scope="module")
def recommender(small_run: Tables) -> TrainedNextTouchpoint:
    return train_next_touchpoint(small_run.leads, small_run.touchpoints, small_run.outcomes, FAST)


@pytest.fixture(scope="module")
def client(
    mlflow_home: Path,
    tmp_path_factory: pytest.TempPathFactory,
    small_run: Tables,
    recommender: TrainedNextTouchpoint,
) -> Iterator[Client]:
    """An app whose MLflow store (a copy of the session's) also has a next-touchpoint
    champion."""
    home = tmp_path_factory.mktemp("service-next-touchpoint-mlflow")
    shutil.copytree(mlflow_home / "models", home / "models")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        settings = Settings(home=home)
        summary, _ = assess_next_touchpoint(
            recommender, small_run.leads, small_run.touchpoints, None
        )
        run = log_next_touchpoint_run(recommender, summary, settings=settings, data_location="x")
        assert promote_next_touchpoint(run.run_id, settings=settings).promoted
        project = project_from(home, tmp_path_factory.mktemp("service-next-touchpoint"))
        app = create_app(
            project.settings, ServiceOptions(refresh_seconds=0, deliver_webhooks=False)
        )
        with TestClient(app) as http:
            store = app.state.store
            yield Client(http, make_keys(store), seed_store(store, small_run, 60), small_run)


def test_scores_carry_the_library_recommendations(
    client: Client, trained: TrainedPropensity, recommender: TrainedNextTouchpoint
) -> None:
    answer = client.request("POST", "/v1/score", json={"lead_ids": client.lead_ids})
    assert answer.status_code == 200, answer.text
    scores = answer.json()["scores"]
    assert scores
    assert any(s["next_best_touchpoints"] for s in scores)
    as_of = datetime.fromisoformat(scores[0]["as_of"])
    # The same leads through the library: the store's history of the 60 stored leads (whose
    # company touchpoints are also the company context the service reads).
    run, ids = client.run, [s["lead_id"] for s in scores]
    leads = run.leads.filter(pl.col("lead_id").is_in(client.lead_ids))
    touchpoints = run.touchpoints.filter(pl.col("lead_id").is_in(client.lead_ids))
    snapshots = pl.DataFrame({"lead_id": ids, "as_of": [as_of] * len(ids)}).with_columns(
        pl.col("as_of").dt.cast_time_unit("us")
    )
    features = build_features(leads, touchpoints, snapshots, trained.model.spec_)
    expected = recommendations(
        recommender,
        leads,
        touchpoints,
        features,
        base=trained.model.predict_proba(features),
    )["next_best_touchpoints"].to_list()
    for score, want in zip(scores, expected, strict=True):
        got = score["next_best_touchpoints"]
        assert [t["touchpoint"] for t in got] == [t["touchpoint"] for t in want]
        for a, b in zip(got, want, strict=True):
            assert a["uplift"] == pytest.approx(b["uplift"], abs=1e-9)
            assert a["probability"] == pytest.approx(
                min(1.0, score["probability"] + a["uplift"]), abs=1e-9
            )
