"""Event tables: the batch journal, actions and schedule versions, append-only.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from ledger.store.append_only import install_append_only
from ledger.store.dialects import dialect_of

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

EVENT_TABLES = ["batches", "actions", "schedule_versions", "schedule_rules", "schedule_rule_points"]


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("batch_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("ledger", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("first_seq", sa.BigInteger, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("origin", sa.Text, nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=True),
        sa.Column("hash", sa.String(64), nullable=True),
    )
    op.create_table(
        "actions",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("batch_id", sa.BigInteger, nullable=False),
        sa.Column("ledger", sa.String(100), nullable=False),
        sa.Column("source_key", sa.String(200), nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("occurred_at", sa.DateTime, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("ledger", "source_key", name="uq_actions_ledger_source_key"),
    )
    op.create_index("ix_actions_ledger_day", "actions", ["ledger", "day"])
    op.create_index("ix_actions_ledger_user_day", "actions", ["ledger", "user_id", "day"])
    op.create_table(
        "schedule_versions",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("batch_id", sa.BigInteger, nullable=False),
        sa.Column("ledger", sa.String(100), nullable=False),
        sa.Column("version_key", sa.String(64), nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("levels", sa.Text, nullable=True),
        sa.Column("author", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("link", sa.Text, nullable=True),
        sa.Column("retroactive", sa.Boolean, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("ledger", "version_key", name="uq_schedule_versions_ledger_key"),
    )
    op.create_index("ix_schedule_versions_ledger_from", "schedule_versions", ["ledger", "effective_from"])
    op.create_table(
        "schedule_rules",
        sa.Column("version_seq", sa.BigInteger, sa.ForeignKey("schedule_versions.seq"), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.Column("per", sa.BigInteger, nullable=True),
        sa.Column("min_quantity", sa.BigInteger, nullable=True),
        sa.Column("by_attribute", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("version_seq", "action", name="pk_schedule_rules"),
    )
    op.create_table(
        "schedule_rule_points",
        sa.Column("version_seq", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("attribute_value", sa.String(200), nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("version_seq", "action", "attribute_value", name="pk_schedule_rule_points"),
    )
    install_append_only(op.execute, dialect_of(op.get_bind()).name, EVENT_TABLES)


def downgrade() -> None:
    raise NotImplementedError("the ledger's event history is never dropped by a migration")
