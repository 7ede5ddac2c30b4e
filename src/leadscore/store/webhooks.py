"""Webhooks: receivers, the conditions that trigger them, and the delivery log (an outbox).

A webhook fires for a lead when its newly recorded score meets the condition:

* ``grade_entered``: the lead's grade becomes ``grade`` (it had another grade or none);
* ``score_crossed``: the lead's score reaches ``threshold`` from below (or from no score).

Deliveries are written in the same transaction as the scores that caused them, so none is
lost when the process dies; a worker sends them and records every attempt here.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadscore.errors import UsageError
from leadscore.store.scores import ScoreChange
from leadscore.store.tables import Webhook, WebhookDelivery

__all__ = [
    "EVENTS",
    "DueDelivery",
    "create_webhook",
    "delete_webhook",
    "deliveries_of",
    "due_deliveries",
    "enqueue_deliveries",
    "list_webhooks",
    "record_attempt",
]

EVENTS: Final = ("grade_entered", "score_crossed")
Status = Literal["pending", "delivered", "failed"]


def create_webhook(
    session: Session,
    *,
    url: str,
    event: str,
    grade: str | None,
    threshold: int | None,
    now: datetime,
) -> Webhook:
    """Register a receiver; its signing ``secret`` is generated here."""
    if event == "grade_entered" and not grade:
        raise UsageError("A grade_entered webhook needs the grade it waits for, e.g. 'A'.")
    if event == "score_crossed" and threshold is None:
        raise UsageError("A score_crossed webhook needs a threshold score from 0 to 100.")
    if event not in EVENTS:
        raise UsageError(f"Unknown webhook event {event!r}; use one of {', '.join(EVENTS)}.")
    hook = Webhook(
        id=uuid.uuid4().hex,
        url=url,
        secret=f"whsec_{secrets.token_urlsafe(32)}",
        event=event,
        grade=grade if event == "grade_entered" else None,
        threshold=threshold if event == "score_crossed" else None,
        created_at=now,
        active=True,
    )
    session.add(hook)
    session.flush()
    return hook


def list_webhooks(session: Session) -> list[Webhook]:
    """Every active webhook, oldest first."""
    query = select(Webhook).where(Webhook.active.is_(True)).order_by(Webhook.created_at)
    return list(session.scalars(query))


def delete_webhook(session: Session, webhook_id: str) -> bool:
    """Deactivate a webhook (its delivery log stays); False when there is no such webhook."""
    hook = session.get(Webhook, webhook_id)
    if hook is None or not hook.active:
        return False
    hook.active = False
    return True


@dataclass(frozen=True)
class _Hook:
    """What deciding and writing a delivery needs of an active webhook."""

    id: str
    event: str
    grade: str | None
    threshold: int | None


def _fires(hook: _Hook, change: ScoreChange) -> bool:
    if hook.event == "grade_entered":
        return change.grade == hook.grade and change.previous_grade != hook.grade
    threshold = hook.threshold if hook.threshold is not None else 101
    before = change.previous_score
    return change.score >= threshold and (before is None or before < threshold)


def _payload(hook: _Hook, change: ScoreChange, delivery_id: str, now: datetime) -> dict[str, Any]:
    return {
        "delivery_id": delivery_id,
        "webhook_id": hook.id,
        "event": hook.event,
        "condition": {"grade": hook.grade} if hook.grade else {"threshold": hook.threshold},
        "lead_id": change.lead_id,
        "probability": change.probability,
        "score": change.score,
        "grade": change.grade,
        "previous_score": change.previous_score,
        "previous_grade": change.previous_grade,
        "as_of": change.as_of.isoformat(),
        "occurred_at": now.isoformat(),
    }


def enqueue_deliveries(session: Session, changes: Sequence[ScoreChange], now: datetime) -> int:
    """Write a pending delivery for every (webhook, change) whose condition holds."""
    if not changes:
        return 0
    table = Webhook.__table__.c
    hooks = [
        _Hook(*row)
        for row in session.execute(
            select(table.id, table.event, table.grade, table.threshold).where(
                table.active.is_(True)
            )
        )
    ]
    if not hooks:
        return 0
    count = 0
    for change in changes:
        for hook in hooks:
            if not _fires(hook, change):
                continue
            delivery_id = uuid.uuid4().hex
            session.add(
                WebhookDelivery(
                    id=delivery_id,
                    webhook_id=hook.id,
                    lead_id=change.lead_id,
                    payload=_payload(hook, change, delivery_id, now),
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            count += 1
    return count


@dataclass(frozen=True)
class DueDelivery:
    """A delivery to send now: where, with which secret, what."""

    id: str
    url: str
    secret: str
    payload: dict[str, Any]
    attempts: int


def due_deliveries(session: Session, now: datetime, limit: int = 50) -> list[DueDelivery]:
    """Pending deliveries whose next attempt is due, oldest first."""
    query = (
        select(WebhookDelivery, Webhook)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.created_at)
        .limit(limit)
    )
    return [
        DueDelivery(d.id, w.url, w.secret, dict(d.payload), d.attempts)
        for d, w in session.execute(query)
    ]


def record_attempt(
    session: Session,
    delivery_id: str,
    *,
    now: datetime,
    delivered: bool,
    status_code: int | None,
    error: str | None,
    retry_at: datetime | None,
) -> Status:
    """Log one attempt: delivered, retried at ``retry_at``, or failed for good (no retry)."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise UsageError(f"No webhook delivery {delivery_id!r}.")
    delivery.attempts += 1
    delivery.last_status_code = status_code
    delivery.last_error = error
    status: Status
    if delivered:
        status = "delivered"
        delivery.delivered_at = now
    elif retry_at is not None:
        status = "pending"
        delivery.next_attempt_at = retry_at
    else:
        status = "failed"
    delivery.status = status
    return status


def deliveries_of(session: Session, webhook_id: str, limit: int = 100) -> list[WebhookDelivery]:
    """The latest deliveries of a webhook, newest first."""
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.created_at.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
