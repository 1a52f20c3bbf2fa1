"""Alembic environment: palate always hands us an open connection (see palate.store.migrate)."""

from alembic import context

from palate.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
