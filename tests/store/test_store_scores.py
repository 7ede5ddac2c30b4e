"""Score history, rankings with cursors, API keys and webhook deliveries in the store."""

from __future__ import annotations

from datetime import timedelta

import pytest
from store_support import T0, lead

from leadscore.errors import UsageError
from leadscore.store import (
    Store,
    create_key,
    create_webhook,
    current_scores,
    deliveries_of,
    due_deliveries,
    enqueue_deliveries,
    ranked_leads,
    record_attempt,
    record_outcomes,
    record_scores,
    revoke_key,
    score_history,
    upsert_leads,
    verify_key,
)
from leadscore.store.scores import decode_cursor, encode_cursor
from leadscore.store.tables import ApiKey


def _score(lead_id: str, probability: float, grade: str) -> dict[str, object]:
    return {
        "lead_id": lead_id,
        "as_of": T0,
        "probability": probability,
        "score": round(probability * 100),
        "grade": grade,
        "trend": None,
        "reasons": ["3 pricing-page views in the last 7 days"],
    }


def test_scores_keep_history_and_report_the_change(store: Store, prefix: str) -> None:
    lead_id = f"{prefix}h"
    with store.transaction() as session:
        upsert_leads(session, [lead(lead_id)], T0)
        first = record_scores(session, [_score(lead_id, 0.1, "C")], model_version="1", scored_at=T0)
    with store.transaction() as session:
        later = T0 + timedelta(hours=1)
        second = record_scores(
            session, [_score(lead_id, 0.5, "A")], model_version="2", scored_at=later
        )
        history = score_history(session, lead_id)
        current = current_scores(session, [lead_id])[lead_id]
    assert (first[0].previous_grade, first[0].grade) == (None, "C")
    assert (second[0].previous_score, second[0].previous_grade, second[0].grade) == (10, "C", "A")
    assert [(h.score, h.model_version) for h in history] == [(50, "2"), (10, "1")]
    assert (current.score, current.grade, current.reasons) == (
        50,
        "A",
        ["3 pricing-page views in the last 7 days"],
    )


def test_rankings_page_through_open_leads_best_first(store: Store, prefix: str) -> None:
    owner = f"{prefix}owner"
    probabilities = [0.9, 0.5, 0.5, 0.5, 0.3, 0.1, 0.05]
    ids = [f"{prefix}r{n}" for n in range(len(probabilities))]
    with store.transaction() as session:
        upsert_leads(session, [lead(i, owner=owner) for i in [*ids, f"{prefix}closed"]], T0)
        rows = [
            _score(i, p, "A" if p >= 0.4 else "C") for i, p in zip(ids, probabilities, strict=True)
        ]
        record_scores(
            session, [*rows, _score(f"{prefix}closed", 0.99, "A")], model_version="1", scored_at=T0
        )
        record_outcomes(
            session, [{"lead_id": f"{prefix}closed", "lost_at": T0, "converted_at": None}], T0
        )
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        with store.transaction() as session:
            page = ranked_leads(session, owner=owner, limit=3, cursor=cursor)
        seen.extend(score.lead_id for score, _ in page.rows)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == ids
    assert pages == 3
    with store.transaction() as session:
        graded = ranked_leads(session, owner=owner, grades=["A"], limit=10)
    assert [s.lead_id for s, _ in graded.rows] == ids[:4]
    assert graded.next_cursor is None


@pytest.mark.parametrize(
    "cursor",
    ["nonsense", encode_cursor(0.5, "x")[:-3], "WyJhIiwiYiJd"],
    ids=["junk", "cut", "wrong-types"],
)
def test_foreign_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(UsageError, match="not one this service handed out"):
        decode_cursor(cursor)


def test_cursor_round_trip() -> None:
    assert decode_cursor(encode_cursor(0.123456789, "lead/ä")) == (0.123456789, "lead/ä")


def test_keys_are_stored_hashed_and_checked(store: Store, prefix: str) -> None:
    with store.transaction() as session:
        created = create_key(session, f"{prefix}crm", ["score", "read"], T0)
    key = created.key
    with store.transaction() as session:
        stored = session.get(ApiKey, created.info.key_id)
        assert stored is not None
        secret = key.split("_", 2)[2]
        assert secret not in (stored.secret_hash, stored.salt)
        info = verify_key(session, key)
        assert info is not None and info.scopes == ("score", "read")
        assert verify_key(session, key[:-1] + ("A" if key[-1] != "A" else "B")) is None
        assert verify_key(session, "lsk_0000000000000000_" + secret) is None
        assert verify_key(session, "Bearer nonsense") is None
        revoke_key(session, created.info.key_id, T0)
        assert verify_key(session, key) is None


def test_keys_refuse_unknown_scopes_and_empty_names(store: Store) -> None:
    with store.transaction() as session, pytest.raises(UsageError, match="Unknown scope"):
        create_key(session, "x", ["score", "godmode"], T0)
    with store.transaction() as session, pytest.raises(UsageError, match="needs a name"):
        create_key(session, "  ", [], T0)


def test_webhook_conditions_and_delivery_log(store: Store, prefix: str) -> None:
    ids = [f"{prefix}w{n}" for n in range(3)]
    with store.transaction() as session:
        upsert_leads(session, [lead(i) for i in ids], T0)
        record_scores(
            session,
            [_score(ids[0], 0.1, "C"), _score(ids[1], 0.45, "A")],
            model_version="1",
            scored_at=T0,
        )
        grade_hook = create_webhook(
            session,
            url="http://127.0.0.1:9/a",
            event="grade_entered",
            grade="A",
            threshold=None,
            now=T0,
        )
        score_hook = create_webhook(
            session,
            url="http://127.0.0.1:9/b",
            event="score_crossed",
            grade=None,
            threshold=30,
            now=T0,
        )
    with store.transaction() as session:
        changes = record_scores(
            session,
            [_score(ids[0], 0.45, "A"), _score(ids[1], 0.5, "A"), _score(ids[2], 0.2, "B")],
            model_version="1",
            scored_at=T0,
        )
        queued = enqueue_deliveries(session, changes, T0)
    # ids[0] enters A and crosses 30; ids[1] was A and above 30 already; ids[2] stays below.
    assert queued == 2
    with store.transaction() as session:
        due = [d for d in due_deliveries(session, T0) if d.payload["lead_id"] in ids]
        assert {d.payload["event"] for d in due} == {"grade_entered", "score_crossed"}
        first = due[0]
        retry = T0 + timedelta(seconds=5)
        assert (
            record_attempt(
                session,
                first.id,
                now=T0,
                delivered=False,
                status_code=500,
                error="HTTP 500",
                retry_at=retry,
            )
            == "pending"
        )
        assert first.id not in {d.id for d in due_deliveries(session, T0)}
        assert first.id in {d.id for d in due_deliveries(session, retry)}
        assert (
            record_attempt(
                session,
                first.id,
                now=retry,
                delivered=True,
                status_code=200,
                error=None,
                retry_at=None,
            )
            == "delivered"
        )
        log = deliveries_of(session, grade_hook.id) + deliveries_of(session, score_hook.id)
    assert sorted((d.status, d.attempts) for d in log) == [("delivered", 2), ("pending", 0)]


def test_webhooks_need_their_condition(store: Store) -> None:
    with store.transaction() as session, pytest.raises(UsageError, match="needs the grade"):
        create_webhook(
            session, url="http://x", event="grade_entered", grade=None, threshold=None, now=T0
        )
    with store.transaction() as session, pytest.raises(UsageError, match="needs a threshold"):
        create_webhook(
            session, url="http://x", event="score_crossed", grade=None, threshold=None, now=T0
        )
