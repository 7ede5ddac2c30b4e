"""From store and library results to HTTP answers."""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel

from leadscore.service.metrics import Metrics
from leadscore.service.schemas import LeadOut, LeadScoreOut, NotScoredOut, ScoreOut
from leadscore.store import NEXT_BEST_TOUCHPOINTS, OnlineScores
from leadscore.store.tables import Lead

__all__ = ["json_answer", "lead_out", "scores_out"]


def scores_out(
    result: OnlineScores, model_version: str | None, metrics: Metrics | None = None
) -> LeadScoreOut:
    """Scores and not-scored leads as the answer body; counts grades in ``metrics``."""
    scores = [
        ScoreOut.model_validate(
            {**row, NEXT_BEST_TOUCHPOINTS: row.get(NEXT_BEST_TOUCHPOINTS) or []}
        )
        for row in result.rows
    ]
    if metrics is not None:
        metrics.count_grades(score.grade for score in scores)
    return LeadScoreOut(
        model_version=model_version,
        scores=scores,
        not_scored=[NotScoredOut(lead_id=n.lead_id, reason=n.reason) for n in result.not_scored],
    )


def json_answer(body: BaseModel) -> Response:
    """``body`` as a JSON answer, serialised here, once.

    A route that returns its model instead has FastAPI validate it again (in the threadpool)
    before serialising it; routes on the scoring path return this and keep their model as
    ``response_model`` for the OpenAPI document.
    """
    return Response(body.model_dump_json(), media_type="application/json")


def lead_out(lead: Lead) -> LeadOut:
    """A stored lead."""
    return LeadOut(
        lead_id=lead.lead_id,
        created_at=lead.created_at,
        source=lead.source,
        industry=lead.industry,
        company_size=lead.company_size,
        country=lead.country,
        job_level=lead.job_level,
        deal_value=lead.deal_value,
        owner=lead.owner,
        extra=dict(lead.extra or {}),
    )
