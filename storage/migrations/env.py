"""Alembic environment: migrations run on the connection storage.migrate hands in."""

from __future__ import annotations

from alembic import context

import storage.models  # noqa: F401  (registers every table on Base.metadata)
from storage.base import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - offline use is not supported
    raise RuntimeError("run migrations through storage.migrate.upgrade()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite alters tables by copy
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
