"""Reading leads: one lead with its history, and the ranked list (JSON or CSV)."""

from __future__ import annotations

import io
from typing import Annotated, Final

import polars as pl
from fastapi import APIRouter, Path, Query, Request, Response

from leadscore.service.convert import lead_out
from leadscore.service.deps import FreshScores, ReadKey, StoreDep
from leadscore.service.problems import ProblemError, responses
from leadscore.service.schemas import (
    HistoryOut,
    LeadDetailOut,
    RankedLeadOut,
    RankingsOut,
    ScoreOut,
    TouchpointSummaryOut,
)
from leadscore.store import RankedPage, Store, ranked_leads, score_history, touchpoint_summary
from leadscore.store.tables import CurrentScore, Lead, Outcome
from leadscore.store.workflow import stored_score_row

__all__ = ["lead_detail", "ranked_csv", "ranked_items", "router"]

router = APIRouter(prefix="/v1", tags=["leads"])

CSV: Final = "text/csv"
LeadId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]
_CSV_COLUMNS: Final = (
    "lead_id",
    "owner",
    "source",
    "grade",
    "score",
    "probability",
    "trend",
    "expected_revenue",
    "reasons",
    "as_of",
    "model_version",
)


@router.get(
    "/leads/{lead_id}",
    operation_id="get_lead",
    response_model=LeadDetailOut,
    responses=responses(401, 403, 404, 422, 503),
)
def get_lead(lead_id: LeadId, _key: ReadKey, store: StoreDep, _fresh: FreshScores) -> LeadDetailOut:
    """A lead, a summary of its touchpoints, its current score and its score history."""
    return lead_detail(store, lead_id)


def lead_detail(store: Store, lead_id: str) -> LeadDetailOut:
    """A stored lead with its touchpoint summary, score and history; 404 when unknown."""
    with store.reading() as session:
        lead = session.get(Lead, lead_id)
        if lead is None:
            raise ProblemError(404, f"No lead {lead_id!r} in the store.")
        current = session.get(CurrentScore, lead_id)
        outcome = session.get(Outcome, lead_id)
        summary = touchpoint_summary(session, lead_id)
        history = score_history(session, lead_id)
    state = "open" if outcome is None else "converted" if outcome.converted_at else "lost"
    return LeadDetailOut(
        lead=lead_out(lead),
        touchpoints=TouchpointSummaryOut(**vars(summary)),
        score=None
        if current is None
        else ScoreOut.model_validate(stored_score_row(current, lead.deal_value)),
        outcome=state,
        history=[
            HistoryOut(
                as_of=h.as_of,
                scored_at=h.scored_at,
                probability=h.probability,
                score=h.score,
                grade=h.grade,
                model_version=h.model_version,
            )
            for h in history
        ],
    )


def ranked_csv(items: list[RankedLeadOut]) -> bytes:
    """Ranked leads as CSV (reasons joined with "; "), as ``Accept: text/csv`` answers."""
    rows = [
        {
            **{name: getattr(item, name) for name in _CSV_COLUMNS if name != "reasons"},
            "reasons": "; ".join(item.reasons),
        }
        for item in items
    ]
    frame = pl.DataFrame(rows, schema_overrides={"trend": pl.Int64}, infer_schema_length=None)
    frame = frame.select(_CSV_COLUMNS) if rows else pl.DataFrame({c: [] for c in _CSV_COLUMNS})
    buffer = io.BytesIO()
    frame.write_csv(buffer, datetime_format="%Y-%m-%dT%H:%M:%SZ")
    return buffer.getvalue()


def ranked_items(page: RankedPage) -> list[RankedLeadOut]:
    """The rows of a page of :func:`~leadscore.store.ranked_leads` as answered."""
    return [
        RankedLeadOut.model_validate(
            {
                **stored_score_row(score, lead.deal_value),
                "owner": lead.owner,
                "source": lead.source,
            }
        )
        for score, lead in page.rows
    ]


@router.get(
    "/rankings",
    operation_id="get_rankings",
    response_model=RankingsOut,
    responses={
        **responses(401, 403, 422, 503),
        200: {"content": {CSV: {"schema": {"type": "string"}}}, "description": "Ranked leads"},
    },
)
def rankings(
    request: Request,
    _key: ReadKey,
    store: StoreDep,
    _fresh: FreshScores,
    owner: Annotated[
        str | None, Query(max_length=200, description="Only this rep's leads.")
    ] = None,
    grade: Annotated[
        list[str] | None, Query(max_length=10, description="Only these grades (repeatable).")
    ] = None,
    source: Annotated[str | None, Query(max_length=100, description="Only this source.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=500, description="next_cursor of the previous page.")
    ] = None,
) -> RankingsOut | Response:
    """Open leads by current score, best first; ``Accept: text/csv`` for CSV.

    The next page: the same query with ``cursor`` set to ``next_cursor`` (null on the last).
    In CSV the cursor of the next page is in the ``Link`` header (``rel="next"``).
    """
    with store.reading() as session:
        page = ranked_leads(
            session,
            owner=owner,
            grades=grade or [],
            source=source,
            limit=limit,
            cursor=cursor or None,
        )
    items = ranked_items(page)
    if CSV in request.headers.get("accept", ""):
        headers = {}
        if page.next_cursor:
            following = request.url.include_query_params(cursor=page.next_cursor)
            headers["Link"] = f'<{following}>; rel="next"'
        return Response(ranked_csv(items), media_type=f"{CSV}; charset=utf-8", headers=headers)
    return RankingsOut(items=items, next_cursor=page.next_cursor)
