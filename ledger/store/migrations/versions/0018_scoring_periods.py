"""schedule_versions.enabled and start_date: a version's scoring period. While a version with
`enabled` false is in force, or before its `start_date`, actions earn nothing (ledger/periods.py).

Existing versions score from the start: enabled, no start date; their hashed documents,
which name neither field at its default, are unchanged.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from ledger.store.dialects import dialect_of
from ledger.store.typed_columns import sqlite_type_check

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# SQLite would store any type in them: refuse all but their own, as PostgreSQL does.
SQLITE_ENABLED_CHECK = sqlite_type_check("enabled", sa.Boolean)
SQLITE_START_DATE_CHECK = sqlite_type_check("start_date", sa.Date, nullable=True)


def upgrade() -> None:
    if dialect_of(op.get_bind()).is_sqlite:
        op.execute(f"ALTER TABLE schedule_versions ADD COLUMN enabled BOOLEAN DEFAULT 1 NOT NULL CHECK ({SQLITE_ENABLED_CHECK})")
        op.execute(f"ALTER TABLE schedule_versions ADD COLUMN start_date DATE CHECK ({SQLITE_START_DATE_CHECK})")
    else:
        op.add_column("schedule_versions", sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.text("true")))
        op.add_column("schedule_versions", sa.Column("start_date", sa.Date, nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+), as in 0016.
    op.execute("ALTER TABLE schedule_versions DROP COLUMN enabled")
    op.execute("ALTER TABLE schedule_versions DROP COLUMN start_date")
