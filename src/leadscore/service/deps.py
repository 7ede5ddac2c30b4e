"""Route dependencies as ``Annotated`` aliases: the store, the champion, the metrics, scopes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from leadscore.service.auth import require_scope
from leadscore.service.champion import Champion
from leadscore.service.metrics import Metrics
from leadscore.service.problems import ProblemError
from leadscore.store import KeyInfo, Store
from leadscore.store.workflow import ScoringModel

__all__ = [
    "ChampionDep",
    "IngestKey",
    "MetricsDep",
    "MetricsKey",
    "ReadKey",
    "ScoreKey",
    "ScoringDep",
    "StoreDep",
    "WebhooksKey",
]


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _champion(request: Request) -> Champion:
    champion: Champion = request.app.state.champion
    return champion


def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


def _scoring(request: Request) -> ScoringModel:
    scoring = _champion(request).scoring()
    if scoring is None:
        raise ProblemError(
            503,
            "No champion model is loaded yet: train one with `leadscore train` and promote it "
            "with `leadscore promote RUN_ID`; the service picks it up without a restart.",
            headers={"Retry-After": "10"},
        )
    return scoring


StoreDep = Annotated[Store, Depends(_store)]
ChampionDep = Annotated[Champion, Depends(_champion)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
ScoringDep = Annotated[ScoringModel, Depends(_scoring)]
ScoreKey = Annotated[KeyInfo, Depends(require_scope("score"))]
IngestKey = Annotated[KeyInfo, Depends(require_scope("ingest"))]
ReadKey = Annotated[KeyInfo, Depends(require_scope("read"))]
WebhooksKey = Annotated[KeyInfo, Depends(require_scope("webhooks"))]
MetricsKey = Annotated[KeyInfo, Depends(require_scope("metrics"))]
