"""Prometheus metrics of one app (its own registry, so several apps can live in a process).

* ``leadscore_http_request_duration_seconds{method,route,status}``: request latency;
* ``leadscore_scores_total{grade}``: scores answered, by grade;
* ``leadscore_touchpoints_ingested_total``: touchpoints newly stored;
* ``leadscore_touchpoints_received_total``: touchpoints received (replays included);
* ``leadscore_model_version``: the registry version of the champion in use (0: none);
* ``leadscore_webhook_deliveries_total{status}``: delivery attempts by outcome;
* ``leadscore_score_history_pending``: score sets of ``POST /v1/score`` not yet written;
* ``leadscore_score_history_written_total``, ``leadscore_score_history_dropped_total``: score
  sets written to the history, and dropped because the store refused them (logged);
* ``leadscore_score_history_process_failures_total``: failures of the score-history process
  (its batch then written by the service process itself).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadscore.store import HistoryStats

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

    def watch_history(self, stats: Callable[[], HistoryStats]) -> Callable[[], None]:
        """Report the score-history writer's ``stats`` at each scrape; returns what stops it."""
        collector = _HistoryCollector(stats)
        self.registry.register(collector)
        return lambda: self.registry.unregister(collector)

    def count_grades(self, grades: Iterable[str]) -> None:
        """Count answered scores by grade."""
        for grade in grades:
            self.scores.labels(grade=grade).inc()

    def render(self) -> bytes:
        """The text exposition of every metric."""
        return generate_latest(self.registry)


class _HistoryCollector(Collector):
    """The score-history writer's counts, read when Prometheus scrapes."""

    def __init__(self, stats: Callable[[], HistoryStats]) -> None:
        self._stats = stats

    def describe(self) -> Iterator[Metric]:
        return iter(())  # described by collecting: the values are only read at a scrape

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        yield GaugeMetricFamily(
            "leadscore_score_history_pending",
            "Score sets computed but not yet written to the score history.",
            value=stats.pending,
        )
        yield CounterMetricFamily(
            "leadscore_score_history_written",
            "Score sets written to the score history in the background.",
            value=stats.written,
        )
        yield CounterMetricFamily(
            "leadscore_score_history_dropped",
            "Score sets the store refused (logged and dropped).",
            value=stats.dropped,
        )
        yield CounterMetricFamily(
            "leadscore_score_history_process_failures",
            "Failures of the score-history process; its batch was written by the service.",
            value=stats.process_failures,
        )


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
