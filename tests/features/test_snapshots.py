"""Which leads are open at a snapshot time, and the snapshot grid."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from leadscore.data.schemas import TIMESTAMP
from leadscore.features import observed_until, open_snapshots, snapshot_grid

T0 = datetime(2025, 1, 1, 9, 30, tzinfo=UTC)


def test_open_means_created_before_and_not_yet_closed() -> None:
    day = timedelta(days=1)
    leads = pl.DataFrame(
        {
            "lead_id": ["new", "old", "won", "lost", "later"],
            "created_at": [T0] * 4 + [T0 + 9 * day],
        },
        schema_overrides={"created_at": TIMESTAMP},
    )
    outcomes = pl.DataFrame(
        {
            "lead_id": ["won", "lost"],
            "converted_at": [T0 + 3 * day, None],
            "lost_at": [None, T0 + 5 * day],
        },
        schema_overrides={"converted_at": TIMESTAMP, "lost_at": TIMESTAMP},
    )
    grid = pl.Series("as_of", [T0, T0 + 3 * day, T0 + 4 * day, T0 + 10 * day], dtype=TIMESTAMP)
    out = open_snapshots(leads, outcomes, grid)
    by_time = out.group_by("as_of").agg(pl.col("lead_id").sort()).sort("as_of")
    # At T0 nobody is open yet (created_at is not before as_of); "won" converts at T0 + 3 days
    # exactly, so it is closed at that snapshot; "lost" is lost after T0 + 4 days.
    assert by_time["as_of"].to_list() == [T0 + 3 * day, T0 + 4 * day, T0 + 10 * day]
    assert by_time["lead_id"].to_list() == [
        ["lost", "new", "old"],
        ["lost", "new", "old"],
        ["later", "new", "old"],
    ]
    assert out.columns == ["lead_id", "as_of"]


def test_the_grid_starts_at_midnight_and_steps_by_the_cadence() -> None:
    grid = snapshot_grid(T0, T0 + timedelta(days=20), 7)
    assert grid.to_list() == [
        datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=7 * k) for k in range(3)
    ]


def test_observed_until_is_the_latest_known_moment() -> None:
    leads = pl.DataFrame({"created_at": [T0]}, schema_overrides={"created_at": TIMESTAMP})
    touch = pl.DataFrame(
        {"timestamp": [T0 + timedelta(days=2)]}, schema_overrides={"timestamp": TIMESTAMP}
    )
    outcomes = pl.DataFrame(
        {"converted_at": [None], "lost_at": [T0 + timedelta(days=5)]},
        schema_overrides={"converted_at": TIMESTAMP, "lost_at": TIMESTAMP},
    )
    assert observed_until(leads, touch, outcomes) == T0 + timedelta(days=5)


@pytest.mark.parametrize("seed", range(6), ids=lambda seed: f"seed{seed}")
def test_few_pairs_are_checked_like_the_query(seed: int) -> None:
    # DataFrames with few (lead, time) pairs take the path without a query; LazyFrames
    # always take the query. Both must give the same rows in the same order, nulls included.
    rng = random.Random(seed)
    hours = [None, *range(0, 48, 6)]

    def when() -> datetime | None:
        hour = rng.choice(hours)
        return None if hour is None else T0 + timedelta(hours=hour)

    ids = [None, "a", "b", "b", "é", "A"]
    leads = pl.DataFrame(
        {"lead_id": rng.sample(ids, 4), "created_at": [when() for _ in range(4)]},
        schema={"lead_id": pl.String, "created_at": TIMESTAMP},
    )
    outcomes = pl.DataFrame(
        {
            "lead_id": [rng.choice([*ids, "unknown"]) for _ in range(4)],
            "converted_at": [when() for _ in range(4)],
            "lost_at": [when() for _ in range(4)],
        },
        schema={"lead_id": pl.String, "converted_at": TIMESTAMP, "lost_at": TIMESTAMP},
    )
    grid = pl.Series("as_of", [when() for _ in range(5)], dtype=TIMESTAMP)
    few = open_snapshots(leads, outcomes, grid)
    query = open_snapshots(leads.lazy(), outcomes.lazy(), grid)
    assert few.schema == query.schema
    assert few.rows() == query.rows()
