"""Registering webhooks and reading their delivery log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from leadscore.service.deps import FreshScores, StoreDep, WebhooksKey
from leadscore.service.problems import ProblemError, responses
from leadscore.service.schemas import WebhookDeliveryOut, WebhookIn, WebhookOut
from leadscore.store import create_webhook, delete_webhook, deliveries_of, list_webhooks
from leadscore.store.tables import Webhook

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["webhooks"])

WebhookId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


def _out(hook: Webhook, secret: str | None = None) -> WebhookOut:
    return WebhookOut(
        id=hook.id,
        url=hook.url,
        event=hook.event,
        grade=hook.grade,
        threshold=hook.threshold,
        created_at=hook.created_at,
        secret=secret,
    )


@router.post(
    "/webhooks",
    operation_id="create_webhook",
    status_code=201,
    response_model=WebhookOut,
    responses=responses(400, 401, 403, 413, 422, 503),
)
def create(body: WebhookIn, _key: WebhooksKey, store: StoreDep) -> WebhookOut:
    """Register a receiver; the answer holds its signing ``secret``, shown only here.

    Each delivery is a JSON POST with the headers ``X-Leadscore-Signature:
    sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>``,
    ``X-Leadscore-Timestamp`` and ``X-Leadscore-Delivery`` (the delivery id, the same on
    every retry of it).
    """
    with store.transaction() as session:
        hook = create_webhook(
            session,
            url=str(body.url),
            event=body.event,
            grade=body.grade,
            threshold=body.threshold,
            now=datetime.now(UTC),
        )
        return _out(hook, hook.secret)


@router.get(
    "/webhooks",
    operation_id="list_webhooks",
    response_model=list[WebhookOut],
    responses=responses(401, 403, 503),
)
def listing(_key: WebhooksKey, store: StoreDep) -> list[WebhookOut]:
    """Every active webhook (without secrets)."""
    with store.transaction() as session:
        return [_out(hook) for hook in list_webhooks(session)]


@router.delete(
    "/webhooks/{webhook_id}",
    operation_id="delete_webhook",
    status_code=204,
    response_class=Response,
    responses=responses(401, 403, 404, 422, 503),
)
def remove(webhook_id: WebhookId, _key: WebhooksKey, store: StoreDep) -> Response:
    """Stop a webhook; its delivery log stays readable."""
    with store.transaction() as session:
        if not delete_webhook(session, webhook_id):
            raise ProblemError(404, f"No active webhook {webhook_id!r}.")
    return Response(status_code=204)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    operation_id="list_webhook_deliveries",
    response_model=list[WebhookDeliveryOut],
    responses=responses(401, 403, 404, 422, 503),
)
def deliveries(
    webhook_id: WebhookId,
    _key: WebhooksKey,
    store: StoreDep,
    _fresh: FreshScores,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[WebhookDeliveryOut]:
    """The latest deliveries of a webhook, newest first, with their attempts."""
    with store.reading() as session:
        if session.get(Webhook, webhook_id) is None:
            raise ProblemError(404, f"No webhook {webhook_id!r}.")
        return [
            WebhookDeliveryOut.model_validate(d, from_attributes=True)
            for d in deliveries_of(session, webhook_id, limit)
        ]
