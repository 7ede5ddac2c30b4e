"""The score history, the current score of each lead, and the ranked list read from them.

Every computed score is appended to ``scores``; ``current_scores`` keeps the latest per lead.
The ranked list holds the open leads (no outcome recorded) with a current score, by
probability (highest first, ties by lead id), and pages with a keyset cursor: the position
after the last row of a page, so pages stay consistent while scores change elsewhere.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Insert, and_, insert, or_, select
from sqlalchemy.orm import Session

from leadscore.errors import UsageError
from leadscore.store.database import dialect_insert_for
from leadscore.store.tables import CurrentScore, Lead, Outcome, ScoreRecord

__all__ = [
    "RankedPage",
    "ScoreChange",
    "ScoreSet",
    "current_scores",
    "decode_cursor",
    "encode_cursor",
    "ranked_leads",
    "record_score_sets",
    "record_scores",
    "score_history",
]

_SCORE_FIELDS = ("as_of", "probability", "score", "grade", "trend")
_LIST_FIELDS = ("reasons", "risks", "next_best_touchpoints")
_CURRENT = CurrentScore.__table__.c
_CURRENT_FIELDS = ("score_id", "model_version", "scored_at", *_SCORE_FIELDS, *_LIST_FIELDS)


@dataclass(frozen=True)
class ScoreChange:
    """A lead's score before (None if it had none) and after it was recorded."""

    lead_id: str
    previous_score: int | None
    previous_grade: str | None
    score: int
    grade: str
    probability: float
    as_of: datetime


@dataclass(frozen=True)
class ScoreSet:
    """Scores computed together: their rows, the model version and when they were computed."""

    rows: Sequence[dict[str, Any]]
    model_version: str
    scored_at: datetime


def record_scores(
    session: Session,
    rows: Sequence[dict[str, Any]],
    *,
    model_version: str,
    scored_at: datetime,
) -> list[ScoreChange]:
    """Append scores to the history and make them current; what changed, per lead.

    Each row has ``lead_id``, ``as_of``, ``probability``, ``score``, ``grade`` and optionally
    ``trend``, ``reasons``, ``risks`` and ``next_best_touchpoints``. A lead's current score is
    the one scored last (by ``scored_at``): a score older than the current one (written late,
    e.g. by another replica) goes to the history only and changes nothing.
    """
    return record_score_sets(session, [ScoreSet(rows, model_version, scored_at)])[0]


def record_score_sets(session: Session, sets: Sequence[ScoreSet]) -> list[list[ScoreChange]]:
    """:func:`record_scores` of several sets, in order, with one statement per table; the
    changes of each set.

    The sets are recorded as if one after the other: a lead scored in two of them changes
    from its stored score to the first and then to the second (unless one is older than the
    score it would replace).
    """
    records = [
        {
            "lead_id": row["lead_id"],
            "model_version": item.model_version,
            "scored_at": item.scored_at,
            **{name: row.get(name) for name in _SCORE_FIELDS},
            **{name: list(row.get(name) or []) for name in _LIST_FIELDS},
        }
        for item in sets
        for row in item.rows
    ]
    if not records:
        return [[] for _ in sets]
    session.flush()  # the plain statements below do not flush the session's pending objects
    connection = session.connection()
    ids = list(dict.fromkeys(record["lead_id"] for record in records))
    current = {
        lead_id: (score, grade, at)
        for lead_id, score, grade, at in connection.execute(
            select(_CURRENT.lead_id, _CURRENT.score, _CURRENT.grade, _CURRENT.scored_at).where(
                _CURRENT.lead_id.in_(ids)
            )
        )
    }
    score_ids = connection.scalars(
        insert(ScoreRecord).returning(ScoreRecord.id, sort_by_parameter_order=True),
        records,
    ).all()
    changes: list[list[ScoreChange]] = []
    newest: dict[str, dict[str, Any]] = {}  # one row per lead: an upsert may not repeat a key
    position = 0
    for item in sets:
        found: list[ScoreChange] = []
        for record, score_id in zip(
            records[position : position + len(item.rows)],
            score_ids[position : position + len(item.rows)],
            strict=True,
        ):
            lead_id = record["lead_id"]
            before = current.get(lead_id)
            if before is not None and before[2] > record["scored_at"]:
                continue
            newest[lead_id] = {**record, "score_id": score_id}
            current[lead_id] = (record["score"], record["grade"], record["scored_at"])
            found.append(
                ScoreChange(
                    lead_id=lead_id,
                    previous_score=None if before is None else before[0],
                    previous_grade=None if before is None else before[1],
                    score=record["score"],
                    grade=record["grade"],
                    probability=record["probability"],
                    as_of=record["as_of"],
                )
            )
        position += len(item.rows)
        changes.append(found)
    if newest:
        connection.execute(_current_upsert(session.get_bind().dialect.name), list(newest.values()))
    return changes


@lru_cache(maxsize=4)
def _current_upsert(dialect: str) -> Insert:
    """The statement that makes scores current unless a newer one is (built once: its
    ``excluded`` columns cost more to build than the write)."""
    statement: Insert = dialect_insert_for(dialect, CurrentScore)
    excluded = statement.excluded  # type: ignore[attr-defined]
    return statement.on_conflict_do_update(  # type: ignore[attr-defined, no-any-return]
        index_elements=["lead_id"],
        set_={name: excluded[name] for name in _CURRENT_FIELDS},
        where=_CURRENT.scored_at <= excluded.scored_at,
    )


def current_scores(session: Session, lead_ids: Sequence[str]) -> dict[str, CurrentScore]:
    """The current score of each of ``lead_ids`` that has one."""
    rows = session.scalars(select(CurrentScore).where(CurrentScore.lead_id.in_(list(lead_ids))))
    return {row.lead_id: row for row in rows}


def score_history(session: Session, lead_id: str, limit: int = 100) -> list[ScoreRecord]:
    """The latest ``limit`` scores of a lead, newest first."""
    return list(
        session.scalars(
            select(ScoreRecord)
            .where(ScoreRecord.lead_id == lead_id)
            .order_by(ScoreRecord.scored_at.desc(), ScoreRecord.id.desc())
            .limit(limit)
        )
    )


def encode_cursor(probability: float, lead_id: str) -> str:
    """The opaque cursor that points just after (probability, lead_id)."""
    raw = json.dumps([probability, lead_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    """The position a cursor of :func:`encode_cursor` points after.

    Raises :class:`~leadscore.errors.UsageError` for anything else.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        probability, lead_id = json.loads(raw)
        if isinstance(probability, bool) or not isinstance(probability, int | float):
            raise TypeError
        if not isinstance(lead_id, str):
            raise TypeError
    except (ValueError, TypeError) as exc:
        raise UsageError(
            f"The cursor {cursor[:40]!r} is not one this service handed out; pass the "
            "next_cursor of the previous page unchanged."
        ) from exc
    return float(probability), lead_id


@dataclass(frozen=True)
class RankedPage:
    """One page of the ranked list and the cursor of the next page (None at the end)."""

    rows: list[tuple[CurrentScore, Lead]]
    next_cursor: str | None


def ranked_leads(
    session: Session,
    *,
    owner: str | None = None,
    grades: Sequence[str] = (),
    source: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> RankedPage:
    """Open leads with a current score, best first, filtered and paged."""
    query = (
        select(CurrentScore, Lead)
        .join(Lead, Lead.lead_id == CurrentScore.lead_id)
        .outerjoin(Outcome, Outcome.lead_id == CurrentScore.lead_id)
        .where(Outcome.lead_id.is_(None))
    )
    if owner is not None:
        query = query.where(Lead.owner == owner)
    if source is not None:
        query = query.where(Lead.source == source)
    if grades:
        query = query.where(CurrentScore.grade.in_(list(grades)))
    if cursor is not None:
        probability, lead_id = decode_cursor(cursor)
        query = query.where(
            or_(
                CurrentScore.probability < probability,
                and_(CurrentScore.probability == probability, CurrentScore.lead_id > lead_id),
            )
        )
    query = query.order_by(CurrentScore.probability.desc(), CurrentScore.lead_id).limit(limit + 1)
    rows = [(score, lead) for score, lead in session.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1][0] if rows else None
    following = encode_cursor(last.probability, last.lead_id) if more and last else None
    return RankedPage(rows, following)
