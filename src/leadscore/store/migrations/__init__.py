"""Alembic migrations of the store, applied by :func:`leadscore.store.database.migrate`."""
