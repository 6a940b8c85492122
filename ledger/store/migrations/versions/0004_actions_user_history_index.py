"""A covering index of each user's actions, replacing (ledger, user_id, day).

An audit reads all of one user's actions. Through (ledger, user_id, day) each of them is a
visit to a different table page (actions are stored in arrival order, a user's spread over
the whole table), and a heavy user has thousands. With every column the audit reads in the
index, a user's actions are a few adjacent index pages: PostgreSQL answers with an
index-only scan, SQLite with a covering index. Only what the audit reads is carried: a user
with a thousand actions is some 30 pages, read from disk when cold, and recorded_at (which
would let incremental pricing read the index alone too) would make that a fifth more on
SQLite, where it is 26 bytes of text.

PostgreSQL keeps (ledger, user_id, day) as the key and INCLUDEs the rest. SQLite has no
INCLUDE, so there they are key columns, action and then (occurred_at, seq) first: the SQLite
audit finds the first event of a (user, day, action) bucket, and sums the bucket, by seeking
one range of the index (sql/sqlite/audit.sql).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

KEY = ["ledger", "user_id", "day"]
CARRIED = ["occurred_at", "seq", "action", "source_key", "quantity", "attributes"]
SQLITE_KEY = KEY + ["action", "occurred_at", "seq", "source_key", "quantity", "attributes"]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_actions_user_history", "actions", KEY, postgresql_include=CARRIED)
    else:
        op.create_index("ix_actions_user_history", "actions", SQLITE_KEY)
    op.drop_index("ix_actions_ledger_user_day", table_name="actions")


def downgrade() -> None:
    op.create_index("ix_actions_ledger_user_day", "actions", KEY)
    op.drop_index("ix_actions_user_history", table_name="actions")
