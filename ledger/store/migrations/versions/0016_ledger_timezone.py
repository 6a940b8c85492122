"""ledger_numbers.timezone: a ledger's time zone (IANA name), for the days of its actions and
corrections and its periods; NULL is UTC (ledger/store/ledger_zones.py).

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from ledger.store.dialects import dialect_of
from ledger.store.typed_columns import sqlite_type_check

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if dialect_of(op.get_bind()).is_sqlite:
        # SQLite would store any type here: refuse all but text, as PostgreSQL does.
        check = sqlite_type_check("timezone", sa.String, nullable=True)
        op.execute(f"ALTER TABLE ledger_numbers ADD COLUMN timezone VARCHAR(64) CHECK ({check})")
    else:
        op.add_column("ledger_numbers", sa.Column("timezone", sa.String(64), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+): a batch recreate of the table would lose the
    # column checks earlier migrations gave it.
    op.execute("ALTER TABLE ledger_numbers DROP COLUMN timezone")
