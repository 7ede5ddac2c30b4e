"""Helpers of the data contract's types."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import polars as pl

from leadscore.data.schemas import TIMESTAMP, timestamps


def test_timestamps_are_utc_microseconds_like_polars_builds_them() -> None:
    values = [
        datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=UTC),
        datetime(2025, 3, 1, 14, 30, tzinfo=timezone(timedelta(hours=2))),  # 12:30 UTC
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        None,
    ]
    built = timestamps("as_of", values)
    assert built.dtype == TIMESTAMP and built.name == "as_of"
    assert built.equals(pl.Series("as_of", values, dtype=TIMESTAMP), null_equal=True)
    naive = timestamps("t", [datetime(2025, 3, 1, 12, 30)])
    assert naive.to_list() == [datetime(2025, 3, 1, 12, 30, tzinfo=UTC)]
