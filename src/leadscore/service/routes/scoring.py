"""``POST /v1/score``: score stored leads by id, or leads given in full with their touchpoints."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from anyio import to_thread
from fastapi import APIRouter, Response

from leadscore.service.convert import json_answer, scores_out
from leadscore.service.deps import (
    HistoryDep,
    MetricsDep,
    ScoreKey,
    ScoringDep,
    ScoringSlots,
    StoreDep,
)
from leadscore.service.metrics import Metrics
from leadscore.service.problems import responses
from leadscore.service.schemas import LeadScoreOut, ScoreIn
from leadscore.store import HistoryWriter, Store, frames_from_rows, score_frames
from leadscore.store.online import recent_context
from leadscore.store.workflow import ScoringModel, score_known

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["scoring"])


@router.post(
    "/score",
    operation_id="score_leads",
    response_model=LeadScoreOut,
    responses=responses(400, 401, 403, 413, 422, 503),
)
async def score(
    body: ScoreIn,
    _key: ScoreKey,
    scoring: ScoringDep,
    store: StoreDep,
    history: HistoryDep,
    metrics: MetricsDep,
    slots: ScoringSlots,
) -> Response:
    """Score leads now (or ``as_of``): probability, score, grade, trend, reasons.

    With ``lead_ids`` the stored leads are scored from their stored history; scores "now"
    are recorded in their history (in the background, within milliseconds). With ``leads``
    the payload is scored as given (nothing is stored). Leads not open at that moment, or
    unknown, are listed in ``not_scored``.
    """
    work = partial(_score, body, scoring, store, history, metrics)
    return await to_thread.run_sync(work, limiter=slots)


def _score(
    body: ScoreIn,
    scoring: ScoringModel,
    store: Store,
    history: HistoryWriter,
    metrics: Metrics,
) -> Response:
    now = datetime.now(UTC)
    if body.lead_ids is not None:
        result = score_known(
            store,
            scoring,
            list(dict.fromkeys(body.lead_ids)),
            now=now,
            as_of=body.as_of,
            history=history,
        )
    else:
        leads = body.leads or []
        frames = frames_from_rows(
            [lead.row(lead.lead_id) for lead in leads],
            [
                {**event.model_dump(), "lead_id": lead.lead_id}
                for lead in leads
                for event in lead.touchpoints
            ],
        )
        when = body.as_of or now
        with store.reading() as session:
            context = recent_context(session, scoring.next_touchpoint, when)
        result = score_frames(
            scoring.model,
            scoring.config,
            frames,
            when,
            next_touchpoint=scoring.next_touchpoint,
            context=context,
        )
        for row in result.rows:
            row["model_version"] = scoring.version
    return json_answer(scores_out(result, scoring.version, metrics))
