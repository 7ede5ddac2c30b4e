"""Route dependencies as ``Annotated`` aliases: the store, the champion, the pipeline settings,
the metrics, scopes.

Those that only read the app's state are ``async``: FastAPI runs them on the event loop
instead of handing each to the threadpool and back (a thread hop costs more than they do).
"""

from __future__ import annotations

from typing import Annotated

from anyio import CapacityLimiter
from fastapi import Depends, Request

from leadscore.service.auth import require_scope
from leadscore.service.champion import Champion
from leadscore.service.metrics import Metrics
from leadscore.service.problems import ProblemError
from leadscore.store import HistoryWriter, KeyInfo, Store
from leadscore.store.workflow import ScoringModel
from leadscore.training.config import PipelineConfig

__all__ = [
    "ChampionDep",
    "FreshScores",
    "HistoryDep",
    "IngestKey",
    "MetricsDep",
    "MetricsKey",
    "PipelineDep",
    "ReadKey",
    "ScoreKey",
    "ScoringDep",
    "ScoringSlots",
    "StoreDep",
    "WebhooksKey",
]


async def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def _champion(request: Request) -> Champion:
    champion: Champion = request.app.state.champion
    return champion


async def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def _pipeline(request: Request) -> PipelineConfig:
    pipeline: PipelineConfig = request.app.state.pipeline
    return pipeline


async def _scoring_slots(request: Request) -> CapacityLimiter:
    slots: CapacityLimiter = request.app.state.scoring_slots
    return slots


async def _history(request: Request) -> HistoryWriter:
    history: HistoryWriter = request.app.state.history
    return history


def _fresh_scores(request: Request) -> None:
    """Wait until every score this process computed is in the store: a route that reads
    scores sees those of the requests answered before it (waits: runs in the threadpool)."""
    history: HistoryWriter = request.app.state.history
    history.flush()


async def _scoring(request: Request) -> ScoringModel:
    champion: Champion = request.app.state.champion
    scoring = champion.scoring()
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
HistoryDep = Annotated[HistoryWriter, Depends(_history)]
ScoringSlots = Annotated[CapacityLimiter, Depends(_scoring_slots)]
"""The threads that build features and score (``ServiceOptions.scoring_threads``): a route
runs that work with ``anyio.to_thread.run_sync(..., limiter=slots)``."""
FreshScores = Annotated[None, Depends(_fresh_scores)]
PipelineDep = Annotated[PipelineConfig, Depends(_pipeline)]
ScoreKey = Annotated[KeyInfo, Depends(require_scope("score"))]
IngestKey = Annotated[KeyInfo, Depends(require_scope("ingest"))]
ReadKey = Annotated[KeyInfo, Depends(require_scope("read"))]
WebhooksKey = Annotated[KeyInfo, Depends(require_scope("webhooks"))]
MetricsKey = Annotated[KeyInfo, Depends(require_scope("metrics"))]
