"""What the service tests share: homes, keys, seeded leads and authenticated requests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import polars as pl

from leadscore.data.simulator import Tables
from leadscore.settings import Settings
from leadscore.store import (
    SCOPES,
    Store,
    create_key,
    insert_touchpoints,
    record_outcomes,
    upsert_leads,
)

# Starlette 1.x asks for the ``httpx2`` package under its test client and warns when it runs on
# ``httpx``; the project locks ``httpx``, so that one warning is ignored, narrowly, here.
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message=r"Using `httpx` with `starlette.testclient` is deprecated"
    )
    from starlette.testclient import TestClient

__all__ = [
    "Client",
    "Project",
    "TestClient",
    "json_ready",
    "make_keys",
    "project_from",
    "seed_store",
    "serve",
]

LEADSCORE = Path(sys.executable).with_name("leadscore")


@dataclass(frozen=True)
class Project:
    """A project home and its settings."""

    root: Path
    settings: Settings


def project_from(mlflow_home: Path, root: Path) -> Project:
    """A new project home using a copy of the champion's MLflow store."""
    shutil.copytree(mlflow_home / "models", root / "models")
    return Project(root, Settings(home=root, mlflow_tracking_uri=None, database_url=None))


def make_keys(store: Store) -> dict[str, str]:
    """A key with every scope (``all``) and one per single scope."""
    now = datetime.now(UTC)
    keys: dict[str, str] = {}
    with store.transaction() as session:
        keys["all"] = create_key(session, "all", [], now).key
        for scope in SCOPES:
            keys[scope] = create_key(session, f"only-{scope}", [scope], now).key
    return keys


def seed_store(store: Store, run: Tables, count: int) -> list[str]:
    """Store the first ``count`` leads of a simulated run with their history; their ids."""
    leads = run.leads.head(count)
    ids = leads["lead_id"].to_list()
    now = datetime.now(UTC)
    with store.transaction() as session:
        upsert_leads(session, leads.to_dicts(), now)
        insert_touchpoints(
            session, run.touchpoints.filter(pl.col("lead_id").is_in(ids)).to_dicts(), now
        )
        record_outcomes(session, run.outcomes.filter(pl.col("lead_id").is_in(ids)).to_dicts(), now)
    return ids


def json_ready(row: dict[str, Any]) -> dict[str, Any]:
    """A row with timestamps as ISO strings."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


@dataclass
class Client:
    """The test client of a running app, its keys, the stored lead ids and the run."""

    http: TestClient
    keys: dict[str, str]
    lead_ids: list[str]
    run: Tables

    def request(
        self, method: str, url: str, *, key: str | None = "all", **kwargs: Any
    ) -> httpx.Response:
        """A request with the key of scope ``key`` (None: without a key)."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if key is not None:
            headers["Authorization"] = f"Bearer {self.keys[key]}"
        return self.http.request(method, url, headers=headers, **kwargs)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(project: Project, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``leadscore serve`` in a child process; yields it and its base URL once healthy."""
    port = _free_port()
    env = {**os.environ, "LEADSCORE_HOME": str(project.root)}
    env.pop("MLFLOW_TRACKING_URI", None)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(LEADSCORE), "serve", "--port", str(port), "--refresh-seconds", "0"],
            cwd=project.root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield process, base
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
