"""Corrections as events: adjustments, corrections (retractions, reinstatements,
amendments) and merges of users, each append-only and hash-chained like actions.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from ledger.store.append_only import install_append_only
from ledger.store.dialects import dialect_of
from ledger.store.typed_columns import sqlite_type_checks

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = ["adjustments", "corrections", "merges", "compensation_intents"]


def _event_columns() -> list[sa.Column]:
    return [
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("batch_id", sa.BigInteger, nullable=False),
        sa.Column("ledger", sa.String(100), nullable=False),
        sa.Column("ledger_id", sa.Integer, nullable=False),
    ]


def _typed_table(name: str, *items: sa.Column | sa.Constraint) -> None:
    """Create table `name`; on SQLite each column also refuses values of another type."""
    columns = [item for item in items if isinstance(item, sa.Column)]
    checks = sqlite_type_checks(
        name, nullable=tuple(column.name for column in columns if column.nullable), **{column.name: column.type for column in columns}
    )
    op.create_table(name, *items, *checks)


def upgrade() -> None:
    _typed_table(
        "adjustments",
        *_event_columns(),
        sa.Column("adjustment_key", sa.String(200), nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("author", sa.Text, nullable=True),
        sa.Column("reference", sa.Text, nullable=True),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("adjustment_key", "ledger_id", name="uq_adjustments_key_ledger"),
    )
    op.create_index("ix_adjustments_day", "adjustments", ["ledger_id", "day", "user_id"])
    op.create_index("ix_adjustments_user", "adjustments", ["user_id", "ledger_id", "day"])
    _typed_table(
        "corrections",
        *_event_columns(),
        sa.Column("source_key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("booked_at", sa.DateTime, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("action_day", sa.Date, nullable=False),
        sa.Column("old_quantity", sa.BigInteger, nullable=True),
        sa.Column("old_attributes", sa.Text, nullable=True),
        sa.Column("new_quantity", sa.BigInteger, nullable=True),
        sa.Column("new_attributes", sa.Text, nullable=True),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_corrections_key", "corrections", ["ledger_id", "source_key", "seq"])
    op.create_index("ix_corrections_day", "corrections", ["ledger_id", "day", "user_id"])
    op.create_index("ix_corrections_bucket", "corrections", ["ledger_id", "user_id", "action_day", "action"])
    _typed_table(
        "merges",
        *_event_columns(),
        sa.Column("source_user", sa.BigInteger, nullable=False),
        sa.Column("target_user", sa.BigInteger, nullable=False),
        sa.Column("merged_at", sa.DateTime, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_merges_ledger", "merges", ["ledger_id", "source_user"])
    _typed_table(
        "compensation_intents",
        *_event_columns(),
        sa.Column("intent_key", sa.String(200), nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_compensation_intents_key", "compensation_intents", ["ledger_id", "intent_key"])
    install_append_only(op.execute, dialect_of(op.get_bind()).name, TABLES)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
