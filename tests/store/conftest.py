"""Store fixtures: one store per backend, SQLite in a temp folder and PostgreSQL in a schema of
its own (created and dropped by the session; skipped with a reason when the server is absent)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_support import postgres_url

from leadscore.settings import Settings
from leadscore.store import Store


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search path is a fresh schema, dropped at the end."""
    yield from postgres_url()


def _sqlite(root: Path) -> Store:
    return Store.open(Settings(home=root, database_url=None))


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """A migrated store on each backend."""
    if request.param == "sqlite":
        opened = _sqlite(tmp_path_factory.mktemp("store"))
    else:
        url = request.getfixturevalue("pg_url")
        opened = Store.open(Settings(home=tmp_path_factory.mktemp("pg"), database_url=url))
    yield opened
    opened.close()


@pytest.fixture
def prefix() -> str:
    """A unique prefix for ids, so tests sharing a store never collide."""
    return f"t{uuid.uuid4().hex[:8]}-"
