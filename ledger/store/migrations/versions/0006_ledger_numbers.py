"""Projections name their ledger by number: ledger_numbers, and a ledger_id key column.

daily_scores, user_totals and period_totals lead their keys with the ledger. A full rebuild
builds those keys by sorting every projected row, and with the ledger's name in front each
comparison goes through the text collation even when the names are equal: on PostgreSQL,
5M daily rows took 5.8 s to key by name against 3.1 s by an integer, and 2.5M period rows
5.9 s against 3.0 s. So each ledger gets a number (ledger_numbers, handed out by the first
recalculation of the ledger) and the projection tables hold it instead of the name. For the
same reason period_totals names a period by its length in months (1, 3, 12) rather than
'month', 'quarter' or 'year': that column comes next in its key, and a text column compared
in second place costs as much as one in first.

The projections are recreated empty and the projection state cleared: the next
recalculation (or read that catches the projections up) rebuilds them all.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_numbers",
        sa.Column("ledger", sa.String(100), primary_key=True),
        sa.Column("number", sa.Integer, nullable=False, unique=True),
    )
    _recreate_projections(
        lambda: sa.Column("ledger_id", sa.Integer, nullable=False),
        sa.Column("period_months", sa.SmallInteger, nullable=False),
        sa.CheckConstraint("period_months IN (1, 3, 12)", name="ck_period_totals_period_months"),
    )


def downgrade() -> None:
    _recreate_projections(
        lambda: sa.Column("ledger", sa.String(100), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.CheckConstraint("period IN ('month', 'quarter', 'year')", name="ck_period_totals_period"),
    )
    op.drop_table("ledger_numbers")


def _recreate_projections(ledger_column: Callable[[], sa.Column], *period_columns: sa.Column | sa.CheckConstraint) -> None:
    """The three projection tables, empty, each with a fresh `ledger_column()` in front;
    period_totals names its period by `period_columns` (the column first, then its check)."""
    ledger_key = ledger_column().name
    for table in ("daily_scores", "user_totals", "period_totals"):
        op.drop_table(table)
    op.create_table(
        "daily_scores",
        ledger_column(),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(ledger_key, "day", "user_id", name="pk_daily_scores", postgresql_include=["points"]),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "user_totals",
        ledger_column(),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(ledger_key, "user_id", name="pk_user_totals"),
    )
    op.create_index("ix_user_totals_ranking", "user_totals", [ledger_key, sa.text("points DESC"), "user_id"])
    op.create_table(
        "period_totals",
        ledger_column(),
        *period_columns,
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            ledger_key, period_columns[0].name, "period_start", "user_id", name="pk_period_totals", postgresql_include=["points"]
        ),
        sqlite_with_rowid=False,
    )
    op.execute("DELETE FROM projection_state")
