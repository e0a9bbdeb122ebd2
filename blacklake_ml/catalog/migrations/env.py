"""Alembic environment: runs on the connection the catalog hands over (never opens its own)."""

from __future__ import annotations

from alembic import context

# The search and lineage tables join ``metadata`` when their modules load: import them, so
# the target metadata (what autogenerate compares against) is the whole catalog.
from blacklake_ml.catalog import lineage_schema, search_schema  # noqa: F401
from blacklake_ml.catalog.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
