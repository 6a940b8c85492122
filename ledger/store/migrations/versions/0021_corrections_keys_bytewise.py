"""On PostgreSQL, corrections' source keys compare bytewise (COLLATE "C"), as actions' do
(revision 0006).

A correction's key is only ever matched for equality, which is the same under any
deterministic collation; bytewise, its index takes new keys without calling the locale's
comparison, and a lookup of actions by key can probe it from the actions' own keys: a join
between columns of different collations cannot use the index. Changing the collation
rebuilds ix_corrections_key and leaves the rows as they are. SQLite compares bytewise already.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05
"""

from alembic import op

from ledger.store.dialects import dialect_of

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


BYTEWISE = 'ALTER TABLE corrections ALTER COLUMN source_key TYPE VARCHAR(200) COLLATE "C"'
BY_DATABASE_DEFAULT = "ALTER TABLE corrections ALTER COLUMN source_key TYPE VARCHAR(200) COLLATE pg_catalog.default"


def upgrade() -> None:
    _run_on_postgresql(BYTEWISE)


def downgrade() -> None:
    _run_on_postgresql(BY_DATABASE_DEFAULT)


def _run_on_postgresql(statement: str) -> None:
    if dialect_of(op.get_bind()).is_postgresql:
        op.execute(statement)
