"""Day-major storage for replay: a covering index on actions, and daily_scores keyed by day.

- actions: ix_actions_ledger_day (ledger, day) becomes ix_actions_replay
  (ledger, day, user_id, action) carrying quantity and attributes: everything pricing reads.
  A full recalc walks it in (day, user, action) order, so both of its aggregations (per
  bucket, then per user and day) stream without a sort or a hash table and never visit the
  table (PostgreSQL: an index-only scan; SQLite: a covering index). It serves every lookup
  by (ledger, day) the old index did. PostgreSQL keeps quantity and attributes out of the key
  (INCLUDE); SQLite has no INCLUDE, so they are trailing key columns there.
- daily_scores: the primary key becomes (ledger, day, user_id) and carries points, so one
  index serves both the lookups by (user, day) and the period leaderboards (which read a
  day range and sum points per user from the index alone), where there were two. A full
  recalc writes the rows in that same order, so the key builds from presorted input.
  On SQLite the table is WITHOUT ROWID: the table is that index.

daily_scores is a projection: it is recreated empty, and the projection state is cleared so
the next recalc rebuilds every projection in full.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from ledger.store.dialects import dialect_of

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = dialect_of(op.get_bind()).is_postgresql
    op.drop_index("ix_actions_ledger_day", table_name="actions")
    if postgres:
        op.create_index(
            "ix_actions_replay",
            "actions",
            ["ledger", "day", "user_id", "action"],
            postgresql_include=["quantity", "attributes"],
        )
    else:
        op.create_index("ix_actions_replay", "actions", ["ledger", "day", "user_id", "action", "quantity", "attributes"])
    op.drop_table("daily_scores")
    op.create_table(
        "daily_scores",
        sa.Column("ledger", sa.String(100), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("ledger", "day", "user_id", name="pk_daily_scores", postgresql_include=["points"]),
        sqlite_with_rowid=False,
    )
    op.execute("DELETE FROM user_totals")
    op.execute("DELETE FROM projection_state")


def downgrade() -> None:
    op.drop_table("daily_scores")
    op.create_table(
        "daily_scores",
        sa.Column("ledger", sa.String(100), nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("ledger", "user_id", "day", name="pk_daily_scores"),
    )
    op.create_index("ix_daily_scores_ledger_day", "daily_scores", ["ledger", "day", "user_id", "points"])
    op.execute("DELETE FROM user_totals")
    op.execute("DELETE FROM projection_state")
    op.drop_index("ix_actions_replay", table_name="actions")
    op.create_index("ix_actions_ledger_day", "actions", ["ledger", "day"])
