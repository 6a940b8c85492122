"""Period totals: points per user in each calendar month, quarter and year.

The leaderboard of one such period reads that period's rows, one contiguous range of the
key (ledger, period, period_start, user_id), which carries points, and keeps the top ones,
instead of summing daily_scores over up to a year of days. ledger/rollups.py keeps the table in step
with daily_scores. It starts empty, as do the other projections after revision 0004, and the
projection state is cleared here too: the next recalculation (or read that catches the
projections up) rebuilds every projection, this one included.

There is no index in points order: a full rebuild would have to sort every row a second
time to build it, a large share of the whole rebuild, while picking the top rows of one
period out of its contiguous range takes milliseconds (a year holds at most one row per
user). On SQLite the table is WITHOUT ROWID: it is its key.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "period_totals",
        sa.Column("ledger", sa.String(100), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.CheckConstraint("period IN ('month', 'quarter', 'year')", name="ck_period_totals_period"),
        sa.PrimaryKeyConstraint("ledger", "period", "period_start", "user_id", name="pk_period_totals", postgresql_include=["points"]),
        sqlite_with_rowid=False,
    )
    op.execute("DELETE FROM user_totals")
    op.execute("DELETE FROM daily_scores")
    op.execute("DELETE FROM projection_state")


def downgrade() -> None:
    op.drop_table("period_totals")
