"""Alembic's environment: it runs on the connection `commands.store.migrate` hands it (in its
transaction, under its lock), never on one of its own, and never offline."""

from __future__ import annotations

from alembic import context

from commands.store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("meetbot's migrations run through `meetbot migrate`, not the alembic CLI")
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
