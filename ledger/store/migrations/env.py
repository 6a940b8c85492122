"""Alembic environment: always driven from ledger.store.schema with a live connection."""

from alembic import context

from ledger.store.dialects import dialect_of
from ledger.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things in place; batch mode copies tables when needed.
    render_as_batch=dialect_of(connection).is_sqlite,
)
with context.begin_transaction():
    context.run_migrations()
