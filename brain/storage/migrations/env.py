"""Alembic's environment: runs on the connection the brain hands over (config.attributes["connection"]),
against the metadata of every table (brain.storage.models). SQLite alters tables in batch mode."""

from __future__ import annotations

from alembic import context

from brain.storage import models  # noqa: F401  (every table registered on Base.metadata)
from brain.storage.db import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
with context.begin_transaction():
    context.run_migrations()
