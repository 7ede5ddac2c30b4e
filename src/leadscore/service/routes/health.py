"""Health (no key), readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response

from leadscore.service.deps import ChampionDep, MetricsDep, MetricsKey, StoreDep
from leadscore.service.metrics import CONTENT_TYPE
from leadscore.service.problems import responses
from leadscore.service.schemas import ReadyOut

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", operation_id="health", response_model=dict[str, str])
def healthz() -> dict[str, str]:
    """The process answers (no key needed)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="ready",
    response_model=ReadyOut,
    responses={**responses(401, 403), 503: {"model": ReadyOut, "description": "Not ready"}},
)
def readyz(
    _key: MetricsKey, store: StoreDep, champion: ChampionDep, response: Response
) -> ReadyOut:
    """Ready when the champion model is loaded and the database answers (else 503)."""
    loaded = champion.current
    database = store.reachable()
    ready = loaded is not None and database
    if not ready:
        response.status_code = 503
    detail = None
    if loaded is None:
        detail = champion.last_error or "the champion model is not loaded yet"
    elif not database:
        detail = "the database does not answer"
    return ReadyOut(
        ready=ready,
        model_version=None if loaded is None else loaded.scoring.version,
        database=database,
        detail=detail,
    )


@router.get(
    "/metrics",
    operation_id="metrics",
    response_class=Response,
    responses={
        **responses(401, 403),
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Metrics"},
    },
)
def metrics(_key: MetricsKey, champion: ChampionDep, metrics: MetricsDep) -> Response:
    """Prometheus metrics: latency, scores by grade, ingested events, model version."""
    loaded = champion.current
    metrics.model_version.set(0 if loaded is None else loaded.registry_version)
    return Response(metrics.render(), media_type=CONTENT_TYPE)
