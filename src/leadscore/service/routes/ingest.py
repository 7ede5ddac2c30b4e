"""Writing to the store: touchpoints (idempotent), lead upserts and outcomes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response

from leadscore.service.convert import json_answer, scores_out
from leadscore.service.deps import ChampionDep, FreshScores, IngestKey, MetricsDep, StoreDep
from leadscore.service.problems import FieldError, ProblemError, responses
from leadscore.service.schemas import (
    IngestOut,
    LeadFieldsIn,
    LeadScoreOut,
    OutcomesIn,
    OutcomesOut,
    TouchpointsIn,
)
from leadscore.store.workflow import UnknownLeads, close_leads, ingest_touchpoints, upsert_lead

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["ingestion"])

LeadId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]


def _unknown(exc: UnknownLeads, where: str) -> ProblemError:
    errors = [
        FieldError(
            loc=f"body.{where}[{index}].lead_id",
            message=f"unknown lead_id {lead_id!r}",
            type="unknown_lead",
        )
        for lead_id, indices in exc.positions.items()
        for index in indices
    ][:100]
    return ProblemError(422, str(exc), errors=errors)


@router.post(
    "/touchpoints",
    operation_id="ingest_touchpoints",
    response_model=IngestOut,
    responses=responses(400, 401, 403, 413, 422, 503),
)
def touchpoints(
    body: TouchpointsIn,
    _key: IngestKey,
    store: StoreDep,
    champion: ChampionDep,
    metrics: MetricsDep,
    _fresh: FreshScores,
) -> Response:
    """Store touchpoints, idempotent by ``event_id``, and answer with fresh scores.

    Leads that got new events are rescored now; the answer holds the current score of every
    lead the batch names. A replayed batch stores nothing and answers the same. A batch that
    names an unknown lead is refused whole (422, with the path of each such event).
    """
    scoring = champion.scoring()
    try:
        done = ingest_touchpoints(
            store, scoring, [t.row() for t in body.touchpoints], datetime.now(UTC)
        )
    except UnknownLeads as exc:
        raise _unknown(exc, "touchpoints") from exc
    metrics.received.inc(done.received)
    metrics.ingested.inc(done.stored)
    answer = scores_out(done.scores, scoring.version if scoring else None, metrics)
    return json_answer(
        IngestOut(
            model_version=answer.model_version,
            scores=answer.scores,
            not_scored=answer.not_scored,
            received=done.received,
        )
    )


@router.put(
    "/leads/{lead_id}",
    operation_id="upsert_lead",
    response_model=LeadScoreOut,
    responses=responses(400, 401, 403, 413, 422, 503),
)
def put_lead(
    lead_id: LeadId,
    body: LeadFieldsIn,
    _key: IngestKey,
    store: StoreDep,
    champion: ChampionDep,
    metrics: MetricsDep,
) -> LeadScoreOut:
    """Insert or replace a lead's fields; answers with its fresh score."""
    scoring = champion.scoring()
    result = upsert_lead(store, scoring, body.row(lead_id), datetime.now(UTC))
    return scores_out(result, scoring.version if scoring else None, metrics)


@router.post(
    "/outcomes",
    operation_id="record_outcomes",
    response_model=OutcomesOut,
    responses=responses(400, 401, 403, 413, 422, 503),
)
def outcomes(body: OutcomesIn, _key: IngestKey, store: StoreDep) -> OutcomesOut:
    """Record that leads converted (with revenue) or were lost; they leave the rankings."""
    try:
        count = close_leads(store, [o.model_dump() for o in body.outcomes], datetime.now(UTC))
    except UnknownLeads as exc:
        raise _unknown(exc, "outcomes") from exc
    return OutcomesOut(recorded=count)
