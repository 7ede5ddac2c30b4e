"""The :class:`Store`: an engine and its transactions, with database errors wrapped."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from leadscore.errors import StoreError
from leadscore.settings import Settings
from leadscore.store.database import READ_ONLY, engine_for, open_engine, ping, redacted

__all__ = ["Store"]


class Store:
    """The service's database: one engine, short transactions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._readers = sessionmaker(
            engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )

    @classmethod
    def open(cls, settings: Settings) -> Store:
        """Open (and migrate) the store the settings point at."""
        return cls(open_engine(settings))

    @classmethod
    def connect(cls, url: str) -> Store:
        """The store at ``url`` as it is, not migrated: for another process of a service
        that opened it with :meth:`open` (its :meth:`full_url`)."""
        return cls(engine_for(url))

    def full_url(self) -> str:
        """The database URL with its password: to hand to a child process, never to print."""
        return self.engine.url.render_as_string(hide_password=False)

    @property
    def url(self) -> str:
        """The database URL without its password."""
        return redacted(self.full_url())

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error.

        Database failures are raised as :class:`~leadscore.errors.StoreError`.
        """
        with self._wrapped(self._sessions) as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session in one read-only transaction: a consistent view that, on SQLite, does
        not take the write lock (so it neither waits for writers nor holds them up).

        Writing in it is a mistake the database may refuse; use :meth:`transaction`.
        """
        with self._wrapped(self._readers) as session:
            yield session

    @contextmanager
    def _wrapped(self, sessions: sessionmaker[Session]) -> Iterator[Session]:
        try:
            with sessions.begin() as session:
                yield session
        except IntegrityError as exc:
            raise StoreError(f"The store refused a write: {str(exc.orig).splitlines()[0]}") from exc
        except SQLAlchemyError as exc:
            raise StoreError(
                f"The store at {self.url} failed: {exc.__class__.__name__}: "
                f"{str(exc).splitlines()[0]}"
            ) from exc

    def reachable(self) -> bool:
        """Whether the database answers."""
        return ping(self.engine)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
