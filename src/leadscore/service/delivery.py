"""Delivering webhooks: signed JSON POSTs, retried with exponential backoff, at least once.

The worker takes due deliveries from the store's outbox, POSTs each payload and records the
attempt. A 2xx answer delivers; anything else (error status, timeout, refused connection) is
retried after ``backoff_seconds × 2^(attempts - 1)`` (at most an hour) until ``max_attempts``,
then the delivery is marked failed. A delivery can arrive more than once (a crash between the
POST and its record): receivers deduplicate by ``X-Leadscore-Delivery``.

Signature: ``X-Leadscore-Signature: sha256=<hex>``, the HMAC-SHA256 with the webhook's secret
of ``<X-Leadscore-Timestamp>.<raw body>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import httpx

from leadscore.errors import LeadscoreError
from leadscore.service.metrics import Metrics
from leadscore.store import DueDelivery, Store, due_deliveries, record_attempt

__all__ = ["DeliveryPolicy", "DeliveryWorker", "sign"]

_LOG: Final = logging.getLogger("leadscore.service.webhooks")
_MAX_BACKOFF: Final = 3600.0


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value of a delivery body."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


@dataclass(frozen=True)
class DeliveryPolicy:
    """How often the worker looks, how long it waits for a receiver, how it retries."""

    poll_seconds: float = 1.0
    timeout_seconds: float = 5.0
    max_attempts: int = 8
    backoff_seconds: float = 2.0

    def retry_delay(self, attempts: int) -> float:
        """Seconds before the next attempt, after ``attempts`` failed ones."""
        return min(_MAX_BACKOFF, self.backoff_seconds * 2.0 ** max(0, attempts - 1))


class DeliveryWorker:
    """Sends due webhook deliveries from a background thread."""

    def __init__(self, store: Store, metrics: Metrics, policy: DeliveryPolicy) -> None:
        self._store = store
        self._metrics = metrics
        self._policy = policy
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = httpx.Client(timeout=policy.timeout_seconds, follow_redirects=False)

    def _send(self, delivery: DueDelivery) -> tuple[bool, int | None, str | None]:
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "leadscore-webhooks",
            "X-Leadscore-Delivery": delivery.id,
            "X-Leadscore-Timestamp": stamp,
            "X-Leadscore-Signature": sign(delivery.secret, stamp, body),
        }
        try:
            answer = self._client.post(delivery.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return False, None, f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= answer.status_code < 300:
            return True, answer.status_code, None
        return False, answer.status_code, f"HTTP {answer.status_code}"

    def run_once(self) -> int:
        """Send every due delivery once; the number of attempts made."""
        with self._store.transaction() as session:
            due = due_deliveries(session, datetime.now(UTC))
        for delivery in due:
            delivered, status, error = self._send(delivery)
            now = datetime.now(UTC)
            attempts = delivery.attempts + 1
            retry = None
            if not delivered and attempts < self._policy.max_attempts:
                retry = now + timedelta(seconds=self._policy.retry_delay(attempts))
            with self._store.transaction() as session:
                outcome = record_attempt(
                    session,
                    delivery.id,
                    now=now,
                    delivered=delivered,
                    status_code=status,
                    error=error,
                    retry_at=retry,
                )
            self._metrics.deliveries.labels(status=outcome).inc()
        return len(due)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.run_once()
            except LeadscoreError as exc:
                _LOG.warning("webhook delivery round failed: %s", exc)
                sent = 0
            if not sent:
                self._stop.wait(self._policy.poll_seconds)

    def start(self) -> None:
        """Start the background thread."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="leadscore-webhooks", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread and close the HTTP client."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._policy.timeout_seconds + 5)
            self._thread = None
        self._client.close()
