"""Alembic environment: migrations run on a connection handed over by samhandling."""

from alembic import context

from samhandling.store.schema import metadata

# The migrations are written by hand; `target_metadata` holds the store's tables (the audit
# trail's join it when `audit/storage/tables.py` is imported, which the store never does).
connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
