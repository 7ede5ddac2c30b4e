"""Recording scores: at once, or in the background by the history writer; late scores."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool
from store_support import T0, lead

from leadscore.store import (
    HistoryWriter,
    ScoreSet,
    Store,
    create_webhook,
    current_scores,
    delete_webhook,
    deliveries_of,
    record_score_sets,
    record_scores,
    save_scores,
    score_history,
    upsert_leads,
)

SECOND = timedelta(seconds=1)


def _score(lead_id: str, score: int, grade: str = "B") -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "as_of": T0,
        "probability": score / 100,
        "score": score,
        "grade": grade,
        "trend": None,
        "reasons": ["a demo 2 days ago"],
    }


def test_a_late_score_goes_to_the_history_only(store: Store, prefix: str) -> None:
    lead_id = f"{prefix}late"
    later = T0 + timedelta(minutes=5)
    with store.transaction() as session:
        upsert_leads(session, [lead(lead_id)], T0)
        record_scores(session, [_score(lead_id, 40, "A")], model_version="1", scored_at=later)
    with store.transaction() as session:
        # Scored before the current score, written after it (another replica, a slow writer).
        changes = record_scores(
            session, [_score(lead_id, 10, "C")], model_version="1", scored_at=T0
        )
    with store.reading() as session:
        current = current_scores(session, [lead_id])[lead_id]
        history = score_history(session, lead_id)
    assert changes == []
    assert (current.score, current.scored_at) == (40, later)
    assert [h.score for h in history] == [40, 10]


@pytest.mark.parametrize("process", [False, True], ids=["thread", "process"])
def test_the_writer_records_in_the_background_and_flush_waits(
    store: Store, prefix: str, process: bool
) -> None:
    ids = [f"{prefix}w{n}" for n in range(3)]
    with store.transaction() as session:
        upsert_leads(session, [lead(i) for i in ids], T0)
        hook = create_webhook(
            session,
            url="http://x.example",
            event="grade_entered",
            grade="A",
            threshold=None,
            now=T0,
        )
    writer = HistoryWriter(store, linger_seconds=0.5, process=process)
    writer.start()
    try:
        assert (writer.child_pid not in (None, os.getpid())) is process
        for n, lead_id in enumerate(ids):
            writer.submit([_score(lead_id, 50, "A")], model_version="1", scored_at=T0 + n * SECOND)
        writer.flush()  # does not wait the linger time out: it asks for the write
        with store.reading() as session:
            current = current_scores(session, ids)
            delivered = {d.lead_id for d in deliveries_of(session, hook.id)}
        assert {i: current[i].score for i in ids} == dict.fromkeys(ids, 50)
        assert delivered == set(ids)  # the webhooks fired in the same transaction
        writer.submit([_score(ids[0], 60, "A")], model_version="1", scored_at=T0 + 9 * SECOND)
    finally:
        writer.stop()  # writes what is pending
        with store.transaction() as session:  # other tests count the active webhooks
            delete_webhook(session, hook.id)
    with store.reading() as session:
        assert current_scores(session, [ids[0]])[ids[0]].score == 60


def test_without_the_thread_scores_are_written_at_once(store: Store, prefix: str) -> None:
    lead_id = f"{prefix}now"
    with store.transaction() as session:
        upsert_leads(session, [lead(lead_id)], T0)
    writer = HistoryWriter(store)
    writer.submit([_score(lead_id, 20, "C")], model_version="1", scored_at=T0)
    writer.flush()
    save_scores(store, [_score(lead_id, 30, "B")], model_version="2", scored_at=T0 + SECOND)
    with store.reading() as session:
        assert [h.score for h in score_history(session, lead_id)] == [30, 20]


def test_sets_recorded_together_count_as_one_after_the_other(store: Store, prefix: str) -> None:
    lead_id, other = f"{prefix}sets", f"{prefix}sets-other"
    with store.transaction() as session:
        upsert_leads(session, [lead(lead_id), lead(other)], T0)
        record_scores(session, [_score(lead_id, 30, "C")], model_version="1", scored_at=T0)
    sets = [
        ScoreSet([_score(lead_id, 50, "B")], "1", T0 + SECOND),
        ScoreSet([_score(lead_id, 80, "A"), _score(other, 20, "C")], "2", T0 + 3 * SECOND),
        ScoreSet([_score(lead_id, 60, "B")], "1", T0 + 2 * SECOND),  # late: history only
    ]
    with store.transaction() as session:
        changes = record_score_sets(session, sets)
    assert [[(c.lead_id, c.previous_score, c.score) for c in found] for found in changes] == [
        [(lead_id, 30, 50)],
        [(lead_id, 50, 80), (other, None, 20)],
        [],
    ]
    with store.reading() as session:
        current = current_scores(session, [lead_id, other])
        history = score_history(session, lead_id)
    assert (current[lead_id].score, current[lead_id].model_version) == (80, "2")
    assert current[other].score == 20
    assert sorted(h.score for h in history) == [30, 50, 60, 80]
    with store.transaction() as session:
        assert record_score_sets(session, [ScoreSet([], "1", T0)]) == [[]]


def _gone(pid: int, seconds: float) -> bool:
    """Whether process ``pid`` ends within ``seconds`` (a zombie not yet reaped counts)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().split(")")[-1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_a_dead_writer_process_loses_nothing_and_is_replaced(store: Store, prefix: str) -> None:
    ids = [f"{prefix}dead{n}" for n in range(2)]
    with store.transaction() as session:
        upsert_leads(session, [lead(i) for i in ids], T0)
    writer = HistoryWriter(store, process=True, restart_seconds=0)
    writer.start()
    try:
        first = writer.child_pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        assert _gone(first, 10)
        writer.submit([_score(ids[0], 70, "A")], model_version="1", scored_at=T0)
        writer.flush()  # the child is gone: this batch is written by the thread itself
        writer.submit([_score(ids[1], 30, "C")], model_version="1", scored_at=T0)
        writer.flush()  # by a new child
        second = writer.child_pid
        stats = writer.stats()
    finally:
        writer.stop()
    with store.reading() as session:
        current = current_scores(session, ids)
    assert {i: current[i].score for i in ids} == {ids[0]: 70, ids[1]: 30}
    assert second not in (None, first)
    assert (stats.written, stats.dropped, stats.process_failures, stats.pending) == (2, 0, 1, 0)
    assert writer.child_pid is None
    assert _gone(second, 10)  # stop() ended it


def test_a_batch_the_process_cannot_take_leaves_the_writer_working(
    store: Store, prefix: str
) -> None:
    lead_id = f"{prefix}odd"
    with store.transaction() as session:
        upsert_leads(session, [lead(lead_id)], T0)
    writer = HistoryWriter(store, process=True, restart_seconds=0)
    writer.start()
    try:
        odd = {**_score(lead_id, 10, "C"), "reasons": [lambda: None]}  # neither pickle nor JSON
        writer.submit([odd], model_version="1", scored_at=T0)
        writer.flush()  # returns: the batch is logged and dropped
        writer.submit([_score(lead_id, 55, "B")], model_version="1", scored_at=T0 + SECOND)
        writer.flush()
        assert writer.child_pid is not None  # a new child took the next batch
        stats = writer.stats()
        assert (stats.written, stats.dropped, stats.process_failures) == (1, 1, 1)
    finally:
        writer.stop()
    with store.reading() as session:
        assert [h.score for h in score_history(session, lead_id)] == [55]


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///file:mem?mode=memory&uri=true"])
def test_an_in_memory_store_is_written_by_the_thread(url: str) -> None:
    store = Store(create_engine(url, poolclass=StaticPool))
    writer = HistoryWriter(store, process=True)
    writer.start()
    try:
        assert writer.child_pid is None
    finally:
        writer.stop()
        store.close()


_ORPHAN = """
import sys
from leadscore.settings import Settings
from leadscore.store import HistoryWriter, Store
writer = HistoryWriter(Store.open(Settings(home=sys.argv[1])), process=True)
writer.start()
print(writer.child_pid, flush=True)
sys.stdin.read()
"""


def test_the_writer_process_ends_when_the_service_process_is_killed(tmp_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", _ORPHAN, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as parent:
        try:
            assert parent.stdout is not None
            child = int(parent.stdout.readline())
            assert not _gone(child, 0.5)
        finally:
            parent.kill()
    assert _gone(child, 10)  # its input ended: it exits rather than linger as an orphan
