"""Alembic environment: runs on the connection that `upgrade_database` hands over."""

from __future__ import annotations

from alembic import context

from dqplatform.controlplane.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached from the alembic command line
    raise RuntimeError("run migrations through dqplatform.controlplane.db.migrate")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite needs batch mode to alter tables
)
with context.begin_transaction():
    context.run_migrations()
