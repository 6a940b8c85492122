"""Projections: daily points per user, per-user totals, and how far replay has read.

These tables are derived (docs/design.md: a projection is never the source of truth), so they
are ordinary read-write tables without append-only triggers: `scoreledger recalc --full`
may replace every row.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from ledger.store.dialects import dialect_of

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_scores",
        sa.Column("ledger", sa.String(100), nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("ledger", "user_id", "day", name="pk_daily_scores"),
    )
    # Leaderboards for a period read every user's points within a day range.
    op.create_index("ix_daily_scores_ledger_day", "daily_scores", ["ledger", "day"])
    op.create_table(
        "user_totals",
        sa.Column("ledger", sa.String(100), nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("ledger", "user_id", name="pk_user_totals"),
    )
    op.create_table(
        "projection_state",
        sa.Column("ledger", sa.String(100), primary_key=True),
        sa.Column("through_seq", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("rebuilt_at", sa.DateTime, nullable=True),
    )
    # Actions with their attributes readable as JSON by `->`/`->>` on both backends (PostgreSQL
    # needs the cast; SQLite reads JSON from text). A plain view: the planner inlines it, and
    # the cast is only evaluated where a `by` rule asks for an attribute.
    attributes_json = "attributes::json" if dialect_of(op.get_bind()).is_postgresql else "attributes"
    op.execute(
        "CREATE VIEW replay_actions AS SELECT seq, ledger, source_key, user_id, action, "
        f"occurred_at, day, quantity, attributes, {attributes_json} AS attributes_json, "
        "recorded_at FROM actions"
    )


def downgrade() -> None:
    op.execute("DROP VIEW replay_actions")
    op.drop_table("projection_state")
    op.drop_table("user_totals")
    op.drop_index("ix_daily_scores_ledger_day", table_name="daily_scores")
    op.drop_table("daily_scores")
