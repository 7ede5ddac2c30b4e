"""Helpers of the store and service tests: a PostgreSQL schema per session, rows to write."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import pytest

#: The PostgreSQL server of CI (trust authentication).
POSTGRES: Final = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0: Final = datetime(2025, 3, 1, tzinfo=UTC)


def postgres_url() -> Iterator[str]:
    """Yield a URL on a fresh schema of the CI server; skip when the server is unreachable."""
    import psycopg

    plain = POSTGRES.replace("+psycopg", "")
    try:
        connection = psycopg.connect(plain, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432 ({exc}).")
    schema = f"leadscore_test_{uuid.uuid4().hex[:12]}"
    with connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
        finally:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def lead(lead_id: str, **fields: Any) -> dict[str, Any]:
    """A valid lead row with the canonical columns."""
    return {
        "lead_id": lead_id,
        "created_at": T0,
        "source": "web_form",
        "industry": "software",
        "company_size": 120,
        "country": "DE",
        "job_level": "manager",
        "deal_value": 10_000.0,
        "owner": "anna",
        **fields,
    }


def touchpoint(event_id: str, lead_id: str, day: int = 1, **fields: Any) -> dict[str, Any]:
    """A valid touchpoint row ``day`` days after :data:`T0`."""
    return {
        "event_id": event_id,
        "lead_id": lead_id,
        "timestamp": T0 + timedelta(days=day),
        "channel": "web",
        "action": "pricing_page_view",
        "initiated_by": "lead",
        "campaign": None,
        "value": None,
        **fields,
    }
