"""What the service does with the store, as plain functions: score, ingest, upsert, close.

Each function runs its own short transactions on a :class:`~leadscore.store.Store` and takes
the scoring model as :class:`ScoringModel` (or None when no model is loaded: data are stored,
nothing is scored). Leads are read in read-only transactions and scored outside any
transaction. Scores computed "now" are recorded in the history, and the webhook deliveries
they trigger are written in the same transaction (:func:`leadscore.store.history.save_scores`);
:func:`score_known` can hand them to a :class:`~leadscore.store.history.HistoryWriter`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadscore.errors import DataError
from leadscore.store.history import HistoryWriter, save_scores
from leadscore.store.online import NotScored, OnlineScores, score_stored
from leadscore.store.records import (
    insert_touchpoints,
    missing_leads,
    record_outcomes,
    upsert_leads,
)
from leadscore.store.scores import current_scores
from leadscore.store.session import Store
from leadscore.store.tables import CurrentScore, Lead
from leadscore.training.config import ScoringConfig
from leadscore.training.model import PropensityModel
from leadscore.training.next_touchpoint_training import TrainedNextTouchpoint

__all__ = [
    "Ingested",
    "ScoringModel",
    "UnknownLeads",
    "close_leads",
    "ingest_touchpoints",
    "rescore",
    "score_known",
    "stored_score_row",
    "upsert_lead",
]

NO_MODEL = "no champion model is loaded"


@dataclass(frozen=True)
class ScoringModel:
    """The model that scores, its scoring settings and its version (as reported); with a
    next-touchpoint model, scores carry ``next_best_touchpoints``."""

    model: PropensityModel
    config: ScoringConfig
    version: str
    next_touchpoint: TrainedNextTouchpoint | None = None


class UnknownLeads(DataError):
    """Rows name leads the store does not hold; ``positions`` maps each to its row indices."""

    def __init__(self, what: str, positions: Mapping[str, list[int]]) -> None:
        first = ", ".join(repr(i) for i in list(positions)[:5])
        super().__init__(
            f"{len(positions)} {what} name lead_id(s) the store does not hold (first: {first}); "
            "create them with PUT /v1/leads/{lead_id} first."
        )
        self.positions = dict(positions)


def _unknown(store: Store, rows: Sequence[Mapping[str, Any]], what: str) -> None:
    ids = [str(row["lead_id"]) for row in rows]
    with store.reading() as session:
        missing = set(missing_leads(session, ids))
    if missing:
        positions: dict[str, list[int]] = {}
        for index, lead_id in enumerate(ids):
            if lead_id in missing:
                positions.setdefault(lead_id, []).append(index)
        raise UnknownLeads(what, positions)


def _score(
    store: Store, scoring: ScoringModel, lead_ids: Sequence[str], as_of: datetime
) -> OnlineScores:
    """Score stored leads at ``as_of`` from one read-only view of the store."""
    with store.reading() as session:
        result = score_stored(
            session, scoring.model, scoring.config, lead_ids, as_of, scoring.next_touchpoint
        )
    for row in result.rows:
        row["model_version"] = scoring.version
    return result


def rescore(
    store: Store, scoring: ScoringModel, lead_ids: Sequence[str], now: datetime
) -> OnlineScores:
    """Score stored leads at ``now``, record the scores and queue the webhooks they trigger.

    The leads are read in one read-only transaction and the scores written in another, so
    no write lock is held while features are built.
    """
    result = _score(store, scoring, lead_ids, now)
    save_scores(store, result.rows, model_version=scoring.version, scored_at=now)
    return result


def score_known(
    store: Store,
    scoring: ScoringModel,
    lead_ids: Sequence[str],
    *,
    now: datetime,
    as_of: datetime | None = None,
    history: HistoryWriter | None = None,
) -> OnlineScores:
    """Score stored leads: at ``now`` (recorded) or at a given ``as_of`` (not recorded).

    Scores at ``now`` are recorded by ``history`` in the background when it is given, else
    before this returns.
    """
    result = _score(store, scoring, lead_ids, as_of or now)
    if as_of is None:
        if history is None:
            save_scores(store, result.rows, model_version=scoring.version, scored_at=now)
        else:
            history.submit(result.rows, model_version=scoring.version, scored_at=now)
    return result


def stored_score_row(score: CurrentScore, deal_value: float | None) -> dict[str, Any]:
    """A current score as the same row :func:`score_stored` gives."""
    return {
        "lead_id": score.lead_id,
        "as_of": score.as_of,
        "probability": score.probability,
        "score": score.score,
        "grade": score.grade,
        "trend": score.trend,
        "expected_revenue": None if deal_value is None else score.probability * deal_value,
        "reasons": list(score.reasons),
        "risks": list(score.risks),
        "next_best_touchpoints": list(score.next_best_touchpoints),
        "model_version": score.model_version,
    }


@dataclass(frozen=True)
class Ingested:
    """A touchpoint batch: events received, newly stored, and the touched leads' scores."""

    received: int
    stored: int
    scores: OnlineScores = field(default_factory=lambda: OnlineScores([], []))


def _current_rows(store: Store, lead_ids: Sequence[str]) -> OnlineScores:
    with store.reading() as session:
        scores = current_scores(session, lead_ids)
        values = {i: session.get(Lead, i) for i in scores}
        rows = [
            stored_score_row(scores[i], getattr(values[i], "deal_value", None))
            for i in lead_ids
            if i in scores
        ]
    missing = [NotScored(i, "not scored yet") for i in lead_ids if i not in scores]
    return OnlineScores(rows, missing)


def ingest_touchpoints(
    store: Store,
    scoring: ScoringModel | None,
    rows: Sequence[Mapping[str, Any]],
    now: datetime,
) -> Ingested:
    """Store a batch idempotently and answer with the current scores of the leads it names.

    Leads that got new events are rescored at ``now`` first; a replayed batch stores nothing,
    rescores nothing and answers the same. Raises :class:`UnknownLeads` (nothing stored) when
    an event names a lead the store does not hold.
    """
    _unknown(store, rows, "touchpoint(s)")
    with store.transaction() as session:
        inserted = set(insert_touchpoints(session, rows, now))
    touched = list(dict.fromkeys(str(row["lead_id"]) for row in rows))
    fresh = list(dict.fromkeys(str(r["lead_id"]) for r in rows if r["event_id"] in inserted))
    if scoring is not None and fresh:
        rescore(store, scoring, fresh, now)
    current = _current_rows(store, touched)
    if scoring is None:
        current = OnlineScores(
            current.rows, [NotScored(n.lead_id, NO_MODEL) for n in current.not_scored]
        )
    return Ingested(received=len(rows), stored=len(inserted), scores=current)


def upsert_lead(
    store: Store, scoring: ScoringModel | None, row: Mapping[str, Any], now: datetime
) -> OnlineScores:
    """Insert or update one lead and rescore it (when a model is loaded)."""
    with store.transaction() as session:
        upsert_leads(session, [row], now)
    if scoring is None:
        return OnlineScores([], [NotScored(str(row["lead_id"]), NO_MODEL)])
    return rescore(store, scoring, [str(row["lead_id"])], now)


def close_leads(store: Store, rows: Sequence[Mapping[str, Any]], now: datetime) -> int:
    """Record outcomes (converted or lost); raises :class:`UnknownLeads` for unknown leads."""
    _unknown(store, rows, "outcome(s)")
    with store.transaction() as session:
        record_outcomes(session, rows, now)
    return len(rows)
