"""What the service tests share: homes, keys, seeded leads and authenticated requests."""

from __future__ import annotations

import shutil
import warnings
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
]


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
