"""Indexes that let leaderboards read only what they rank.

- user_totals (ledger, points DESC, user_id): the all-time leaderboard walks it in rank order
  and stops after the limit.
- daily_scores (ledger, day, user_id, points) replaces (ledger, day): a period leaderboard
  sums points per user from the index alone, without visiting the table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_user_totals_ranking", "user_totals", ["ledger", sa.text("points DESC"), "user_id"])
    op.drop_index("ix_daily_scores_ledger_day", table_name="daily_scores")
    op.create_index("ix_daily_scores_ledger_day", "daily_scores", ["ledger", "day", "user_id", "points"])


def downgrade() -> None:
    op.drop_index("ix_daily_scores_ledger_day", table_name="daily_scores")
    op.create_index("ix_daily_scores_ledger_day", "daily_scores", ["ledger", "day"])
    op.drop_index("ix_user_totals_ranking", table_name="user_totals")
