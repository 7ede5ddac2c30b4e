"""The HTTP scoring service: FastAPI app, API keys, champion model, webhooks, metrics."""

from leadscore.service.app import DEFAULT_PIPELINE, ServiceOptions, create_app, openapi_document
from leadscore.service.champion import Champion, LoadedChampion
from leadscore.service.delivery import DeliveryPolicy, DeliveryWorker, sign

__all__ = [
    "DEFAULT_PIPELINE",
    "Champion",
    "DeliveryPolicy",
    "DeliveryWorker",
    "LoadedChampion",
    "ServiceOptions",
    "create_app",
    "openapi_document",
    "sign",
]
