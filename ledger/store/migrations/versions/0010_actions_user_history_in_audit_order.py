"""A user's actions by day come off ix_actions_user_history in the audit's order.

Its key (user_id, ledger_id, day) becomes (user_id, ledger_id, day, occurred_at, seq), which
is the order the audit lists events in (`day` is occurred_at's date), so the audit of a
ledger without `by` rules reads one range of the index in order: no sort, and no join to each
schedule version's span of days (sql/audit.sql `audit_user`; the version of each day is
found from the schedule in ledger/audit.py). action, source_key, quantity and attributes are
still carried: INCLUDEd on PostgreSQL, trailing key columns on SQLite, which has no INCLUDE.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from alembic import op

from ledger.store.dialects import dialect_of

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

INDEX = "ix_actions_user_history"
KEY = ["user_id", "ledger_id", "day", "occurred_at", "seq"]
CARRIED = ["action", "source_key", "quantity", "attributes"]
# Revision 0008's form, which `downgrade` restores.
KEY_0008 = ["user_id", "ledger_id", "day"]
CARRIED_0008 = ["occurred_at", "seq", "action", "source_key", "quantity", "attributes"]
SQLITE_KEY_0008 = [*KEY_0008, "action", "occurred_at", "seq", "source_key", "quantity", "attributes"]


def upgrade() -> None:
    op.drop_index(INDEX, table_name="actions")
    if dialect_of(op.get_bind()).is_postgresql:
        op.create_index(INDEX, "actions", KEY, postgresql_include=CARRIED)
    else:
        op.create_index(INDEX, "actions", [*KEY, *CARRIED])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="actions")
    if dialect_of(op.get_bind()).is_postgresql:
        op.create_index(INDEX, "actions", KEY_0008, postgresql_include=CARRIED_0008)
    else:
        op.create_index(INDEX, "actions", SQLITE_KEY_0008)
