"""A fingerprint of the training data: row counts and an order-independent content hash."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import polars as pl

__all__ = ["fingerprint"]


def _table_hash(frame: pl.DataFrame) -> str:
    if frame.is_empty():
        return hashlib.sha256(b"").hexdigest()
    rows = frame.hash_rows(seed=0).sort()
    digest = hashlib.sha256(",".join(frame.columns).encode())
    digest.update(rows.to_numpy().tobytes())
    return digest.hexdigest()


def fingerprint(tables: Mapping[str, pl.DataFrame]) -> dict[str, Any]:
    """For each table: rows, columns and a SHA-256 over its sorted row hashes.

    Row order does not change the fingerprint; any changed value does.
    """
    return {
        name: {"rows": frame.height, "columns": frame.width, "sha256": _table_hash(frame)}
        for name, frame in tables.items()
    }
