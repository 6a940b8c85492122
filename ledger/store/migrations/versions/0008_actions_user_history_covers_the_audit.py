"""A user's actions by day carry everything the audit shows: it reads the index alone.

ix_actions_user_ledger_day (user_id, ledger_id, day) becomes ix_actions_user_history, the
same key carrying occurred_at, seq, action, source_key, quantity and attributes. A user's
actions lie on about as many table pages as the user has actions (they arrive spread over
years), so the audit of a user with a thousand actions visited a thousand pages; in the
index they lie side by side, on a few dozen. The price is a larger index that takes
longer to build.

PostgreSQL keeps the carried columns out of the key (INCLUDE). SQLite has no INCLUDE: they
are trailing key columns there, action and occurred_at first, so that the first event of a
(day, action) bucket, which the SQLite audit looks up for `per` rules, is the first entry of
its range (seq is the table's rowid, which every SQLite index carries).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from alembic import op

from ledger.store.dialects import dialect_of

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

KEY = ["user_id", "ledger_id", "day"]
CARRIED = ["occurred_at", "seq", "action", "source_key", "quantity", "attributes"]
SQLITE_KEY = [*KEY, "action", "occurred_at", "seq", "source_key", "quantity", "attributes"]


def upgrade() -> None:
    op.drop_index("ix_actions_user_ledger_day", table_name="actions")
    if dialect_of(op.get_bind()).is_postgresql:
        op.create_index("ix_actions_user_history", "actions", KEY, postgresql_include=CARRIED)
    else:
        op.create_index("ix_actions_user_history", "actions", SQLITE_KEY)


def downgrade() -> None:
    op.drop_index("ix_actions_user_history", table_name="actions")
    op.create_index("ix_actions_user_ledger_day", "actions", KEY)
