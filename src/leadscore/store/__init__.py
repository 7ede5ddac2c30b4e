"""The service's store: leads, touchpoints, outcomes, score history, API keys and webhooks.

SQLAlchemy 2 on SQLite (embedded default, WAL) or PostgreSQL (``LEADSCORE_DATABASE_URL``),
migrated on start-up with the Alembic scripts shipped in ``leadscore/store/migrations``.
Functions take a :class:`~sqlalchemy.orm.Session` from :meth:`Store.transaction`.

The names that score (reading stored leads as frames, scoring them, the forecast) are
imported on first use: they load the feature and model code, seconds of start-up that the
store's own users, such as the score-history process, do without.
"""

import importlib
from typing import TYPE_CHECKING, Any, Final

from leadscore.store.database import database_url, migrate, open_engine
from leadscore.store.history import HistoryStats, HistoryWriter, save_scores
from leadscore.store.keys import (
    SCOPES,
    CreatedKey,
    KeyInfo,
    create_key,
    list_keys,
    revoke_key,
    verify_key,
)
from leadscore.store.scores import (
    RankedPage,
    ScoreChange,
    ScoreSet,
    current_scores,
    ranked_leads,
    record_score_sets,
    record_scores,
    score_history,
)
from leadscore.store.session import Store
from leadscore.store.webhooks import (
    EVENTS,
    DueDelivery,
    create_webhook,
    delete_webhook,
    deliveries_of,
    due_deliveries,
    enqueue_deliveries,
    list_webhooks,
    record_attempt,
)

if TYPE_CHECKING:
    from leadscore.store.forecast import forecast_stored
    from leadscore.store.online import (
        NEXT_BEST_TOUCHPOINTS,
        NotScored,
        OnlineScores,
        score_frames,
        score_stored,
    )
    from leadscore.store.records import (
        LeadFrames,
        TouchpointSummary,
        frames_from_rows,
        insert_touchpoints,
        lead_frames,
        lead_record,
        missing_leads,
        record_outcomes,
        stored_frames,
        touchpoint_summary,
        upsert_leads,
    )

_LAZY: Final = {
    "forecast_stored": "leadscore.store.forecast",
    "NEXT_BEST_TOUCHPOINTS": "leadscore.store.online",
    "NotScored": "leadscore.store.online",
    "OnlineScores": "leadscore.store.online",
    "score_frames": "leadscore.store.online",
    "score_stored": "leadscore.store.online",
    "LeadFrames": "leadscore.store.records",
    "TouchpointSummary": "leadscore.store.records",
    "frames_from_rows": "leadscore.store.records",
    "insert_touchpoints": "leadscore.store.records",
    "lead_frames": "leadscore.store.records",
    "lead_record": "leadscore.store.records",
    "missing_leads": "leadscore.store.records",
    "record_outcomes": "leadscore.store.records",
    "stored_frames": "leadscore.store.records",
    "touchpoint_summary": "leadscore.store.records",
    "upsert_leads": "leadscore.store.records",
}

__all__ = [
    "EVENTS",
    "NEXT_BEST_TOUCHPOINTS",
    "SCOPES",
    "CreatedKey",
    "DueDelivery",
    "HistoryStats",
    "HistoryWriter",
    "KeyInfo",
    "LeadFrames",
    "NotScored",
    "OnlineScores",
    "RankedPage",
    "ScoreChange",
    "ScoreSet",
    "Store",
    "TouchpointSummary",
    "create_key",
    "create_webhook",
    "current_scores",
    "database_url",
    "delete_webhook",
    "deliveries_of",
    "due_deliveries",
    "enqueue_deliveries",
    "forecast_stored",
    "frames_from_rows",
    "insert_touchpoints",
    "lead_frames",
    "lead_record",
    "list_keys",
    "list_webhooks",
    "migrate",
    "missing_leads",
    "open_engine",
    "ranked_leads",
    "record_attempt",
    "record_outcomes",
    "record_score_sets",
    "record_scores",
    "revoke_key",
    "save_scores",
    "score_frames",
    "score_history",
    "score_stored",
    "stored_frames",
    "touchpoint_summary",
    "upsert_leads",
    "verify_key",
]


if not TYPE_CHECKING:  # for mypy, the names above are imported: a typo stays an error

    def __getattr__(name: str) -> Any:
        """A name of :data:`_LAZY`, imported on first use."""
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *_LAZY})
