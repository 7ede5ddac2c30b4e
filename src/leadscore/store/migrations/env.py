"""Alembic environment: runs the migrations on the connection handed over in the config."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from leadscore.store.tables import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "The store's migrations run through leadscore.store.database.migrate, which hands "
        "them a connection; they cannot run from the alembic command line alone."
    )
_run(connection)
