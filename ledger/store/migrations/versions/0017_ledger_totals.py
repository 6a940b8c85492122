"""ledger_numbers.quantity_total and adjustment_total: running totals that bound what a
ledger's scores can add up to, so that a write that could overflow 64-bit sums is refused by
arithmetic instead of by reading the ledger (ledger/store/quantity_caps.py).

Existing ledgers get their totals from what they hold: the quantities of their actions plus
what amendments added, and their adjustments' points in size.

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from ledger.store.dialects import dialect_of
from ledger.store.typed_columns import sqlite_type_check

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TOTALS = ("quantity_total", "adjustment_total")
# SQLite would store any type in them: refuse all but integers, as PostgreSQL does.
SQLITE_QUANTITY_CHECK = sqlite_type_check("quantity_total", sa.BigInteger)
SQLITE_ADJUSTMENT_CHECK = sqlite_type_check("adjustment_total", sa.BigInteger)


def upgrade() -> None:
    if dialect_of(op.get_bind()).is_sqlite:
        op.execute(f"ALTER TABLE ledger_numbers ADD COLUMN quantity_total BIGINT DEFAULT 0 NOT NULL CHECK ({SQLITE_QUANTITY_CHECK})")
        op.execute(f"ALTER TABLE ledger_numbers ADD COLUMN adjustment_total BIGINT DEFAULT 0 NOT NULL CHECK ({SQLITE_ADJUSTMENT_CHECK})")
    else:
        for column in TOTALS:
            op.add_column("ledger_numbers", sa.Column(column, sa.BigInteger, nullable=False, server_default="0"))
    op.execute(
        "UPDATE ledger_numbers SET "
        "quantity_total = COALESCE((SELECT SUM(quantity) FROM actions WHERE ledger_id = number), 0)"
        " + COALESCE((SELECT SUM(new_quantity - old_quantity) FROM corrections WHERE ledger_id = number"
        " AND new_quantity > old_quantity), 0), "
        "adjustment_total = COALESCE((SELECT SUM(ABS(points)) FROM adjustments WHERE ledger_id = number), 0)"
    )


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+): a batch recreate of the table would lose the
    # column checks earlier migrations gave it.
    op.execute("ALTER TABLE ledger_numbers DROP COLUMN quantity_total")
    op.execute("ALTER TABLE ledger_numbers DROP COLUMN adjustment_total")
