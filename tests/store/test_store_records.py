"""Leads, touchpoints and outcomes in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import polars as pl
import pytest
from sqlalchemy import func, select, text
from store_support import T0, lead, touchpoint

from leadscore.data.schemas import TIMESTAMP
from leadscore.settings import Settings
from leadscore.store import (
    Store,
    insert_touchpoints,
    lead_frames,
    migrate,
    missing_leads,
    record_outcomes,
    stored_frames,
    touchpoint_summary,
    upsert_leads,
)
from leadscore.store.tables import Touchpoint


def test_migrations_are_idempotent_and_at_head(store: Store) -> None:
    migrate(store.engine)
    with store.transaction() as session:
        assert session.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"


def test_embedded_default_is_sqlite_in_wal_mode_under_data(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    home = tmp_path_factory.mktemp("home")
    store = Store.open(Settings(home=home, database_url=None))
    try:
        assert (home / "data" / "leadscore.db").is_file()
        with store.transaction() as session:
            assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        store.close()


def test_upsert_replaces_fields_and_keeps_extra_columns(store: Store, prefix: str) -> None:
    with store.transaction() as session:
        upsert_leads(session, [lead(f"{prefix}1", plan="gold")], T0)
    with store.transaction() as session:
        upsert_leads(session, [lead(f"{prefix}1", owner="ben", plan="silver")], T0)
        frames = lead_frames(session, [f"{prefix}1"])
    row = frames.leads.row(0, named=True)
    assert (row["owner"], row["plan"], row["deal_value"]) == ("ben", "silver", 10_000.0)
    assert frames.leads.schema["created_at"] == TIMESTAMP
    assert row["created_at"] == T0


def test_touchpoints_are_idempotent_by_event_id(store: Store, prefix: str) -> None:
    batch = [touchpoint(f"{prefix}e{i}", f"{prefix}L", day=i) for i in range(5)]
    with store.transaction() as session:
        upsert_leads(session, [lead(f"{prefix}L")], T0)
        first = insert_touchpoints(session, [*batch, batch[0]], T0)
    with store.transaction() as session:
        again = insert_touchpoints(session, batch, T0)
        frames = lead_frames(session, [f"{prefix}L"])
        summary = touchpoint_summary(session, f"{prefix}L")
    assert sorted(first) == sorted(t["event_id"] for t in batch)
    assert again == []
    assert frames.touchpoints.height == 5
    assert frames.touchpoints.schema["timestamp"] == TIMESTAMP
    assert frames.touchpoints["timestamp"].to_list() == [T0 + timedelta(days=i) for i in range(5)]
    assert (summary.count, summary.first_at, summary.last_at) == (5, T0, T0 + timedelta(days=4))
    assert summary.by_action == {"pricing_page_view": 5}


def test_concurrent_writers_store_each_event_once(store: Store, prefix: str) -> None:
    with store.transaction() as session:
        upsert_leads(session, [lead(f"{prefix}{n}") for n in range(4)], T0)
    events = [touchpoint(f"{prefix}c{i}", f"{prefix}{i % 4}", day=i % 30) for i in range(200)]
    inserted: list[list[str]] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        batch = events[offset * 20 : offset * 20 + 80]  # overlapping windows
        with store.transaction() as session:
            ids = insert_touchpoints(session, batch, T0)
        with lock:
            inserted.append(ids)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    flat = [event_id for ids in inserted for event_id in ids]
    assert len(flat) == len(set(flat)) == 200  # the windows cover every event
    with store.transaction() as session:
        stored = session.scalar(
            select(func.count())
            .select_from(Touchpoint)
            .where(Touchpoint.event_id.like(f"{prefix}c%"))
        )
    assert stored == 200


def test_outcomes_replace_and_missing_leads(store: Store, prefix: str) -> None:
    with store.transaction() as session:
        upsert_leads(session, [lead(f"{prefix}w")], T0)
        record_outcomes(
            session, [{"lead_id": f"{prefix}w", "lost_at": T0, "converted_at": None}], T0
        )
        record_outcomes(
            session,
            [{"lead_id": f"{prefix}w", "converted_at": T0, "lost_at": None, "revenue": 5.0}],
            T0,
        )
        frames = lead_frames(session, [f"{prefix}w"])
        assert missing_leads(session, [f"{prefix}w", f"{prefix}nope"]) == [f"{prefix}nope"]
    assert frames.outcomes.select("converted_at", "lost_at", "revenue").rows() == [(T0, None, 5.0)]
    assert frames.outcomes.schema["lost_at"] == TIMESTAMP


def test_frames_of_unknown_leads_are_empty_with_canonical_types(store: Store) -> None:
    with store.transaction() as session:
        frames = lead_frames(session, ["does-not-exist"])
    assert frames.leads.height == frames.touchpoints.height == frames.outcomes.height == 0
    assert frames.touchpoints.schema["timestamp"] == TIMESTAMP
    assert frames.leads.schema["company_size"] == pl.Int64


def test_stored_frames_hold_every_lead_as_lead_frames_reads_them(store: Store, prefix: str) -> None:
    ids = [f"{prefix}a", f"{prefix}b"]
    with store.transaction() as session:
        upsert_leads(session, [lead(ids[0], plan="gold"), lead(ids[1], owner="ben")], T0)
        insert_touchpoints(
            session, [touchpoint(f"{prefix}e{i}", ids[i % 2], day=i) for i in range(4)], T0
        )
        record_outcomes(
            session, [{"lead_id": ids[1], "converted_at": T0, "lost_at": None, "revenue": 7.0}], T0
        )
    with store.transaction() as session:
        everything = stored_frames(session)
        some = lead_frames(session, ids)
    mine = pl.col("lead_id").is_in(ids)
    assert everything.leads.filter(mine).select(some.leads.columns).equals(some.leads)
    assert everything.touchpoints.filter(mine).equals(some.touchpoints)
    assert everything.outcomes.filter(mine).equals(some.outcomes)
    assert everything.touchpoints.schema == some.touchpoints.schema
