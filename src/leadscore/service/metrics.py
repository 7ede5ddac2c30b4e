"""Prometheus metrics of one app (its own registry, so several apps can live in a process).

* ``leadscore_http_request_duration_seconds{method,route,status}``: request latency;
* ``leadscore_scores_total{grade}``: scores answered, by grade;
* ``leadscore_touchpoints_ingested_total``: touchpoints newly stored;
* ``leadscore_touchpoints_received_total``: touchpoints received (replays included);
* ``leadscore_model_version``: the registry version of the champion in use (0: none);
* ``leadscore_webhook_deliveries_total{status}``: delivery attempts by outcome.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_TYPE", "Metrics", "RequestTimer"]

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The service's metrics in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = Histogram(
            "leadscore_http_request_duration_seconds",
            "Time to answer a request.",
            ("method", "route", "status"),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.scores = Counter(
            "leadscore_scores", "Scores answered, by grade.", ("grade",), registry=self.registry
        )
        self.ingested = Counter(
            "leadscore_touchpoints_ingested", "Touchpoints newly stored.", registry=self.registry
        )
        self.received = Counter(
            "leadscore_touchpoints_received",
            "Touchpoints received, replays included.",
            registry=self.registry,
        )
        self.model_version = Gauge(
            "leadscore_model_version",
            "Registry version of the champion model in use (0: none).",
            registry=self.registry,
        )
        self.deliveries = Counter(
            "leadscore_webhook_deliveries",
            "Webhook delivery attempts, by outcome.",
            ("status",),
            registry=self.registry,
        )

    def count_grades(self, grades: Iterable[str]) -> None:
        """Count answered scores by grade."""
        for grade in grades:
            self.scores.labels(grade=grade).inc()

    def render(self) -> bytes:
        """The text exposition of every metric."""
        return generate_latest(self.registry)


class RequestTimer:
    """ASGI middleware observing each request's latency under its route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.latency.labels(scope["method"], route, str(status)).observe(
                time.perf_counter() - started
            )
