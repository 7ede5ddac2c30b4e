"""The store's tables as typed SQLAlchemy models.

* ``leads``, ``touchpoints``, ``outcomes``: the canonical tables of the data contract
  (:mod:`leadscore.data.schemas`); extra lead columns are kept as JSON in ``leads.extra``.
* ``scores``: every score the service computed (the history); ``current_scores``: the latest
  score of each lead, which rankings read.
* ``api_keys``: hashed API keys with their scopes.
* ``webhooks`` and ``webhook_deliveries``: registered receivers and the delivery log (an
  outbox: a delivery is written in the same transaction as the score that caused it).

Timestamps are stored timezone-aware (UTC); SQLite keeps them naive, so :class:`UtcDateTime`
adds the UTC zone back when reading.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ApiKey",
    "Base",
    "CurrentScore",
    "Lead",
    "Outcome",
    "ScoreRecord",
    "Touchpoint",
    "UtcDateTime",
    "Webhook",
    "WebhookDelivery",
]


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamp {value.isoformat()} has no time zone; UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """The declarative base of the store's tables."""

    type_annotation_map: dict[Any, Any] = {  # noqa: RUF012
        datetime: UtcDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
        list[dict[str, Any]]: JSON(),
    }


class Lead(Base):
    """A lead with the canonical columns; extra columns in ``extra``."""

    __tablename__ = "leads"

    lead_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    created_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(100))
    industry: Mapped[str | None] = mapped_column(String(100))
    company_size: Mapped[int | None] = mapped_column(BigInteger)
    country: Mapped[str | None] = mapped_column(String(2))
    job_level: Mapped[str | None] = mapped_column(String(100))
    deal_value: Mapped[float | None] = mapped_column(Float)
    owner: Mapped[str | None] = mapped_column(String(200), index=True)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class Touchpoint(Base):
    """One touchpoint; ``event_id`` is unique and makes ingestion idempotent."""

    __tablename__ = "touchpoints"
    __table_args__ = (Index("ix_touchpoints_lead_time", "lead_id", "timestamp"),)

    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.lead_id", ondelete="CASCADE"))
    timestamp: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    initiated_by: Mapped[str] = mapped_column(String(20))
    campaign: Mapped[str | None] = mapped_column(String(200))
    value: Mapped[float | None] = mapped_column(Float)
    received_at: Mapped[datetime]


class Outcome(Base):
    """The outcome of a decided lead: converted (with revenue) or lost; one per lead."""

    __tablename__ = "outcomes"

    lead_id: Mapped[str] = mapped_column(
        ForeignKey("leads.lead_id", ondelete="CASCADE"), primary_key=True
    )
    converted_at: Mapped[datetime | None]
    lost_at: Mapped[datetime | None]
    revenue: Mapped[float | None] = mapped_column(Float)
    recorded_at: Mapped[datetime]


class ScoreRecord(Base):
    """One computed score of a lead (the score history)."""

    __tablename__ = "scores"
    __table_args__ = (Index("ix_scores_lead_as_of", "lead_id", "as_of"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.lead_id", ondelete="CASCADE"))
    as_of: Mapped[datetime]
    probability: Mapped[float] = mapped_column(Float)
    score: Mapped[int] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(20))
    trend: Mapped[int | None] = mapped_column(Integer)
    reasons: Mapped[list[str]] = mapped_column(default=list)
    risks: Mapped[list[str]] = mapped_column(default=list)
    next_best_touchpoints: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    model_version: Mapped[str] = mapped_column(String(100))
    scored_at: Mapped[datetime]


class CurrentScore(Base):
    """The latest score of a lead, with what rankings sort and filter by."""

    __tablename__ = "current_scores"
    __table_args__ = (Index("ix_current_scores_rank", "probability", "lead_id"),)

    lead_id: Mapped[str] = mapped_column(
        ForeignKey("leads.lead_id", ondelete="CASCADE"), primary_key=True
    )
    score_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    as_of: Mapped[datetime]
    probability: Mapped[float] = mapped_column(Float)
    score: Mapped[int] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(20), index=True)
    trend: Mapped[int | None] = mapped_column(Integer)
    reasons: Mapped[list[str]] = mapped_column(default=list)
    risks: Mapped[list[str]] = mapped_column(default=list)
    next_best_touchpoints: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    model_version: Mapped[str] = mapped_column(String(100))
    scored_at: Mapped[datetime]


class ApiKey(Base):
    """An API key: its public id, a salted SHA-256 of its secret, and its scopes."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    salt: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Webhook(Base):
    """A receiver URL and the condition that triggers a delivery to it."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(40))
    grade: Mapped[str | None] = mapped_column(String(20))
    threshold: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(default=True)


class WebhookDelivery(Base):
    """One delivery of one event to one webhook, with its attempts (the delivery log)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    lead_id: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
