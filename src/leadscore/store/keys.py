"""API keys: created once, shown once, stored as a salted SHA-256 of their secret.

A key reads ``lsk_<key id>_<secret>``. The key id is public and finds the stored row; the
secret (32 random bytes, URL-safe base64) is checked against the stored hash with a
constant-time comparison. The plain key exists only in the return value of :func:`create_key`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadscore.errors import UsageError
from leadscore.store.tables import ApiKey

__all__ = ["SCOPES", "CreatedKey", "KeyInfo", "create_key", "list_keys", "revoke_key", "verify_key"]

SCOPES: Final = ("score", "ingest", "read", "webhooks", "metrics")
"""What a key may do: score leads; write leads, touchpoints and outcomes; read leads and
rankings; manage webhooks; read the metrics."""

_PREFIX: Final = "lsk"
_KEY: Final = re.compile(r"lsk_([0-9a-f]{16})_([A-Za-z0-9_\-]{43})")


@dataclass(frozen=True)
class KeyInfo:
    """A stored key without its secret."""

    key_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class CreatedKey:
    """A new key: the plain ``key`` (shown once, never stored) and what was stored."""

    key: str
    info: KeyInfo


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(row.key_id, row.name, tuple(row.scopes), row.created_at, row.revoked_at)


def _check_scopes(scopes: Sequence[str]) -> tuple[str, ...]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise UsageError(
            f"Unknown scope(s) {', '.join(unknown)}; the scopes are {', '.join(SCOPES)}."
        )
    return tuple(scope for scope in SCOPES if scope in scopes)


def create_key(session: Session, name: str, scopes: Sequence[str], now: datetime) -> CreatedKey:
    """Create a key named ``name`` with ``scopes`` (all scopes when empty)."""
    name = name.strip()
    if not name:
        raise UsageError("A key needs a name (--name NAME) that says who uses it.")
    granted = _check_scopes(scopes) if scopes else SCOPES
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    row = ApiKey(
        key_id=key_id,
        name=name,
        salt=salt,
        secret_hash=_hash(salt, secret),
        scopes=list(granted),
        created_at=now,
        revoked_at=None,
    )
    session.add(row)
    session.flush()
    return CreatedKey(f"{_PREFIX}_{key_id}_{secret}", _info(row))


def verify_key(session: Session, key: str) -> KeyInfo | None:
    """The stored key that ``key`` is, or None (unknown, malformed, wrong secret, revoked)."""
    match = _KEY.fullmatch(key.strip())
    if match is None:
        return None
    key_id, secret = match.groups()
    # A plain row, no ORM object: every request of the service checks its key.
    table = ApiKey.__table__.c
    row = session.execute(
        select(table.name, table.salt, table.secret_hash, table.scopes, table.created_at).where(
            table.key_id == key_id, table.revoked_at.is_(None)
        )
    ).first()
    if row is None or not hmac.compare_digest(_hash(row.salt, secret), row.secret_hash):
        return None
    return KeyInfo(key_id, row.name, tuple(row.scopes), row.created_at, None)


def list_keys(session: Session) -> list[KeyInfo]:
    """Every stored key, oldest first, without secrets."""
    return [_info(row) for row in session.scalars(select(ApiKey).order_by(ApiKey.created_at))]


def revoke_key(session: Session, key_id: str, now: datetime) -> KeyInfo:
    """Revoke a key by its id; raises :class:`~leadscore.errors.UsageError` if unknown."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise UsageError(f"No API key with id {key_id!r}; `leadscore keys list` shows them.")
    if row.revoked_at is None:
        row.revoked_at = now
    return _info(row)
