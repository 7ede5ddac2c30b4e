"""The service's store: leads, touchpoints, outcomes, score history, API keys and webhooks.

SQLAlchemy 2 on SQLite (embedded default, WAL) or PostgreSQL (``LEADSCORE_DATABASE_URL``),
migrated on start-up with the Alembic scripts shipped in ``leadscore/store/migrations``.
Functions take a :class:`~sqlalchemy.orm.Session` from :meth:`Store.transaction`.
"""

from leadscore.store.database import database_url, migrate, open_engine
from leadscore.store.forecast import forecast_stored
from leadscore.store.history import HistoryWriter, save_scores
from leadscore.store.keys import (
    SCOPES,
    CreatedKey,
    KeyInfo,
    create_key,
    list_keys,
    revoke_key,
    verify_key,
)
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

__all__ = [
    "EVENTS",
    "NEXT_BEST_TOUCHPOINTS",
    "SCOPES",
    "CreatedKey",
    "DueDelivery",
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
