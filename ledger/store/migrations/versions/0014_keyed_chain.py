"""batches.mac: an optional keyed MAC of each batch's hash (ledger/store/chain_key.py).

Written only when SCORELEDGER_CHAIN_KEY is set; NULL otherwise and for every earlier batch.
Not part of any hash, so adding it changes no link of the chain.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from ledger.store.dialects import dialect_of
from ledger.store.typed_columns import sqlite_type_check

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if dialect_of(op.get_bind()).is_sqlite:
        # SQLite would store any type here: refuse all but text, as PostgreSQL does.
        check = sqlite_type_check("mac", sa.String, nullable=True)
        op.execute(f"ALTER TABLE batches ADD COLUMN mac VARCHAR(64) CHECK ({check})")
    else:
        op.add_column("batches", sa.Column("mac", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.drop_column("mac")
