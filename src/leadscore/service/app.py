"""The app factory: assembles the routers, middleware and error handlers of the service.

``create_app`` does no work itself; the lifespan opens the store (migrating it), loads the
champion model and starts the background threads (champion watch, score-history writer,
webhook delivery).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from anyio import CapacityLimiter
from fastapi import FastAPI

from leadscore import __version__
from leadscore.service.auth import KeyCache
from leadscore.service.champion import Champion
from leadscore.service.delivery import DeliveryPolicy, DeliveryWorker
from leadscore.service.limits import BodySizeLimit
from leadscore.service.metrics import Metrics, RequestTimer
from leadscore.service.problems import PROBLEM_JSON, install_problem_handlers
from leadscore.service.routes import forecast, health, ingest, leads, scoring, webhooks
from leadscore.service.web import router as pages
from leadscore.settings import Settings, get_settings
from leadscore.store import HistoryWriter, Store
from leadscore.training.config import PipelineConfig, load_pipeline

__all__ = ["DEFAULT_PIPELINE", "ServiceOptions", "create_app", "openapi_document"]

DEFAULT_PIPELINE: Final = Path("pipelines/propensity.yaml")
"""The pipeline file read under ``LEADSCORE_HOME`` when none is given."""


@dataclass(frozen=True)
class ServiceOptions:
    """Tunables of one service process."""

    refresh_seconds: float = 10.0
    """How often the registry is asked whether the champion changed (0: never)."""
    max_body_bytes: int = 2_000_000
    """Largest request body accepted; larger ones get 413."""
    webhooks: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    deliver_webhooks: bool = True
    pipeline: Path | None = None
    """The pipeline file with the scoring settings (grades, trend, reasons) and the horizon."""
    history_linger_seconds: float = 0.02
    """How long the score-history writer waits to gather the scores of ``POST /v1/score``
    into one transaction (they are recorded in the background)."""
    history_process: bool = True
    """Whether the score history is written by a process of its own (started with the
    service, stopped with it) rather than by a thread of this one. A write is a millisecond
    or two of Python a batch; in this process it would delay the requests being scored."""
    key_cache_seconds: float = 5.0
    """How long a key found valid is accepted without asking the store again: a revoked key
    is refused within this time (0: every request asks the store)."""
    scoring_threads: int = 2
    """How many requests build features and score at once. That work is mostly Python,
    which runs one thread at a time: more threads would only take turns, each request
    slower, and cost more in all."""


def _pipeline_config(settings: Settings, options: ServiceOptions) -> PipelineConfig:
    path = options.pipeline
    if path is None and (settings.home / DEFAULT_PIPELINE).is_file():
        path = settings.home / DEFAULT_PIPELINE
    return load_pipeline(path)


def _problem_media(document: dict[str, Any]) -> dict[str, Any]:
    """Declare error answers as ``application/problem+json`` (FastAPI writes them as JSON)."""
    for path in document.get("paths", {}).values():
        for operation in path.values():
            for status, answer in operation.get("responses", {}).items():
                content = answer.get("content", {})
                if int(status) >= 400 and PROBLEM_JSON in content:
                    schema = content.pop("application/json", {}).get("schema")
                    if schema is not None:
                        content[PROBLEM_JSON] = {"schema": schema}
    return document


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, as ``api/openapi.json`` holds it."""
    return _problem_media(app.openapi())


def create_app(
    settings: Settings | None = None,
    options: ServiceOptions | None = None,
) -> FastAPI:
    """The leadscore HTTP service (FastAPI)."""
    options = options or ServiceOptions()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        current = settings or get_settings()
        store = Store.open(current)
        pipeline = _pipeline_config(current, options)
        champion = Champion(current, pipeline.scoring, refresh_seconds=options.refresh_seconds)
        worker = DeliveryWorker(store, app.state.metrics, options.webhooks)
        history = HistoryWriter(
            store,
            linger_seconds=options.history_linger_seconds,
            process=options.history_process,
        )
        app.state.store = store
        app.state.history = history
        app.state.scoring_slots = CapacityLimiter(options.scoring_threads)
        app.state.pipeline = pipeline
        app.state.champion = champion
        champion.start()
        history.start()
        unwatch = app.state.metrics.watch_history(history.stats)
        if options.deliver_webhooks:
            worker.start()
        try:
            yield
        finally:
            unwatch()
            history.stop()
            worker.stop()
            champion.stop()
            store.close()

    app = FastAPI(
        title="leadscore",
        version=__version__,
        summary="Predictive lead scoring: purchase propensity, ranked leads, webhooks.",
        description=(
            "Every route but /healthz needs an API key (`Authorization: Bearer <key>` or "
            "`X-API-Key: <key>`). Errors are RFC 9457 problem details."
        ),
        lifespan=lifespan,
    )
    app.state.metrics = Metrics()
    app.state.keys = KeyCache(options.key_cache_seconds)
    install_problem_handlers(app)
    for module in (scoring, ingest, leads, forecast, webhooks, health):
        app.include_router(module.router)
    app.include_router(pages)
    app.add_middleware(BodySizeLimit, max_bytes=options.max_body_bytes)
    app.add_middleware(RequestTimer, metrics=app.state.metrics)
    return app
