"""Opening the store: the database URL, the engine, and the migrations run on start-up.

The embedded default is SQLite at ``<LEADSCORE_HOME>/data/leadscore.db`` in WAL mode (readers
never wait for the writer; a committed transaction survives a crash of the process).
``LEADSCORE_DATABASE_URL`` selects another database, e.g.
``postgresql+psycopg://user:password@host:5432/leadscore``.

Every SQLite transaction starts with ``BEGIN IMMEDIATE``: it takes the write lock at once, so
concurrent writers queue on the busy timeout instead of failing when a read lock cannot be
upgraded. Read-only transactions (an engine with the execution option :data:`READ_ONLY`)
start with a plain ``BEGIN`` instead: in WAL mode they neither wait for nor block a writer.
Alembic migrations ship in :mod:`leadscore.store.migrations` and are applied by
:func:`migrate` (idempotent; run by :func:`open_engine`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session

from leadscore.errors import ConfigError
from leadscore.settings import Settings

__all__ = [
    "BUSY_TIMEOUT_MS",
    "READ_ONLY",
    "database_url",
    "dialect_insert",
    "dialect_insert_for",
    "engine_for",
    "migrate",
    "open_engine",
    "ping",
    "redacted",
]

BUSY_TIMEOUT_MS: Final = 30_000
"""How long a SQLite writer waits for the lock before giving up."""

READ_ONLY: Final = "leadscore_read_only"
"""The execution option that marks an engine's transactions as read-only (see above)."""

_MIGRATIONS: Final = Path(__file__).resolve().parent / "migrations"


def database_url(settings: Settings) -> str:
    """``LEADSCORE_DATABASE_URL`` or the embedded SQLite file under ``<home>/data/``."""
    if settings.database_url:
        return settings.database_url
    return f"sqlite:///{(settings.home / 'data' / 'leadscore.db').resolve()}"


def redacted(url: str) -> str:
    """The URL with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unreadable database URL>"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level, so that the "begin" hook below controls transactions.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    reading = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def engine_for(url: str) -> Engine:
    """The engine of the database at ``url`` with the store's connection settings, as it is
    (not migrated); raises :class:`~leadscore.errors.ConfigError` for a malformed URL."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            f"LEADSCORE_DATABASE_URL {url!r} is not a database URL; use e.g. "
            "sqlite:///path/leadscore.db or postgresql+psycopg://user@host:5432/name."
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    except (ArgumentError, ImportError) as exc:
        raise ConfigError(f"Cannot use the database {redacted(url)}: {exc}") from exc


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema with the shipped Alembic migrations."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise ConfigError(
            f"Cannot migrate the store at {redacted(str(engine.url))}: {exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0]}"
        ) from exc


def open_engine(settings: Settings) -> Engine:
    """The engine of the configured store, migrated to the newest schema.

    Raises :class:`~leadscore.errors.ConfigError` when the URL is malformed or the database
    cannot be reached or migrated.
    """
    engine = engine_for(database_url(settings))
    migrate(engine)
    return engine


def dialect_insert(session: Session, table: type[Any]) -> Any:
    """The INSERT of the session's dialect, which knows ``ON CONFLICT`` (SQLite, PostgreSQL)."""
    return dialect_insert_for(session.get_bind().dialect.name, table)


def dialect_insert_for(name: str, table: type[Any]) -> Any:
    """The INSERT of the dialect called ``name`` (``sqlite`` or ``postgresql``)."""
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise ConfigError(f"The store supports SQLite and PostgreSQL, not {name}.")


def ping(engine: Engine) -> bool:
    """Whether the database answers a trivial query."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True
