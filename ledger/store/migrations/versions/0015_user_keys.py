"""User keys of any form: `user_keys` maps each key that is not a direct integer to the
number the event tables hold for it; `user_names` dates users' usernames and display names.
Both append-only and hash-chained like the other event tables (ledger/user_keys.py).

Nothing is rewritten: a ledger's existing integer users are keys that are their own number.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from ledger.store.append_only import install_append_only
from ledger.store.dialects import dialect_of
from ledger.store.typed_columns import sqlite_type_checks

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TABLES = ["user_keys", "user_names"]


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
        "user_keys",
        *_event_columns(),
        sa.Column("user_key", sa.String(200), nullable=False),
        sa.Column("user_number", sa.BigInteger, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("user_key", "ledger_id", name="uq_user_keys_key_ledger"),
        sa.UniqueConstraint("user_number", "ledger_id", name="uq_user_keys_number_ledger"),
    )
    if dialect_of(op.get_bind()).is_postgresql:
        # Keys compare bytewise, as source keys do (migration 0006).
        op.execute('ALTER TABLE user_keys ALTER COLUMN user_key TYPE VARCHAR(200) COLLATE "C"')
    _typed_table(
        "user_names",
        *_event_columns(),
        sa.Column("user_number", sa.BigInteger, nullable=False),
        sa.Column("username", sa.Text, nullable=True),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_user_names_user", "user_names", ["ledger_id", "user_number", "seq"])
    install_append_only(op.execute, dialect_of(op.get_bind()).name, TABLES)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
