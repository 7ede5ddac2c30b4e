"""Reliability on a real uvicorn process: concurrent overlapping ingestion, and SIGKILL
mid-ingest followed by a restart."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from service_support import Project, make_keys, project_from, seed_store
from service_support import serve as _server
from sqlalchemy import select

from leadscore.data.simulator import Tables
from leadscore.store import Store
from leadscore.store.tables import Touchpoint


@pytest.fixture(scope="module")
def served(
    mlflow_home: Path, tmp_path_factory: pytest.TempPathFactory, small_run: Tables
) -> tuple[Project, str, list[str]]:
    """A home with a champion, 16 stored leads and a key with every scope."""
    project = project_from(mlflow_home, tmp_path_factory.mktemp("served"))
    store = Store.open(project.settings)
    try:
        key = make_keys(store)["all"]
        ids = seed_store(store, small_run, 16)
    finally:
        store.close()
    return project, key, ids


@pytest.fixture(scope="module")
def running(
    served: tuple[Project, str, list[str]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """One server for the module; the SIGKILL test (last in the file) kills it."""
    with _server(served[0], tmp_path_factory.mktemp("log") / "server.log") as server:
        yield server


def _event(n: int, lead_id: str, tag: str) -> dict[str, str]:
    stamp = datetime.now(UTC) - timedelta(days=n % 60, minutes=n)
    return {
        "event_id": f"{tag}-{n}",
        "lead_id": lead_id,
        "timestamp": stamp.isoformat(),
        "channel": "email",
        "action": "email_open",
        "initiated_by": "lead",
    }


def _stored(project: Project, tag: str) -> list[str]:
    store = Store.open(project.settings)
    try:
        with store.transaction() as session:
            query = select(Touchpoint.event_id).where(Touchpoint.event_id.like(f"{tag}-%"))
            return list(session.scalars(query))
    finally:
        store.close()


def test_eight_clients_ingest_overlapping_batches(
    served: tuple[Project, str, list[str]],
    running: tuple[subprocess.Popen[bytes], str],
    small_run: Tables,
) -> None:
    project, key, ids = served
    base = running[1]
    events = [_event(n, ids[n % len(ids)], "overlap") for n in range(300)]
    failures: list[str] = []

    def client(number: int) -> None:
        window = events[number * 25 : number * 25 + 125]  # neighbours share 100 events
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=60) as http:
            for start in range(0, len(window), 25):
                batch = {"touchpoints": window[start : start + 25]}
                answer = http.post("/v1/touchpoints", json=batch)
                if answer.status_code != 200:
                    failures.append(f"{answer.status_code}: {answer.text[:200]}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = {
        lead_id: httpx.get(
            f"{base}/v1/leads/{lead_id}", headers={"X-API-Key": key}, timeout=30
        ).json()["touchpoints"]["count"]
        for lead_id in ids
    }
    assert failures == []
    stored = _stored(project, "overlap")
    expected = {e["event_id"] for e in events[: 7 * 25 + 125]}
    assert len(stored) == len(set(stored)) == len(expected)
    assert set(stored) == expected
    seeded = small_run.touchpoints["lead_id"].value_counts()
    history = dict(zip(seeded["lead_id"], seeded["count"], strict=True))
    new = Counter(e["lead_id"] for e in events if e["event_id"] in expected)
    assert counts == {i: history.get(i, 0) + new[i] for i in ids}


def test_acknowledged_events_survive_sigkill(
    served: tuple[Project, str, list[str]],
    running: tuple[subprocess.Popen[bytes], str],
    tmp_path: Path,
) -> None:
    project, key, ids = served
    process, base = running
    acknowledged: list[str] = []
    stop = threading.Event()

    def ingest() -> None:
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as http:
            n = 0
            while not stop.is_set():
                batch = [_event(n + i, ids[(n + i) % len(ids)], "kill") for i in range(10)]
                n += 10
                try:
                    answer = http.post("/v1/touchpoints", json={"touchpoints": batch})
                except httpx.TransportError:
                    return
                if answer.status_code == 200:
                    acknowledged.extend(e["event_id"] for e in batch)

    worker = threading.Thread(target=ingest)
    worker.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    stop.set()
    worker.join()
    assert len(acknowledged) >= 50
    with _server(project, tmp_path / "restarted.log") as (_, again):
        ready = httpx.get(f"{again}/readyz", headers={"X-API-Key": key}, timeout=30)
        assert ready.json()["ready"] is True
    assert set(acknowledged) <= set(_stored(project, "kill"))
