"""Two keys of actions lead with the column that tells rows apart, not with ledger_id.

Building a B-tree sorts every row of the table, and both PostgreSQL and SQLite compare
sort keys fast on their first column only: PostgreSQL keeps the first column beside each
tuple and, on a tie, unpacks the whole index tuple to compare the rest; SQLite's sorter has
a fast path for the first field alone. Where a database holds one ledger, ledger_id ties on
every comparison, so each one took the slow path.

Every query that uses these keys fixes both the ledger and the other leading column by
equality (a user's actions by day, a batch's source keys), so the reordered keys serve them
exactly as before, reading the same entries. ix_actions_replay keeps ledger_id first: it is
read by a range of days, which would leave ledger_id a filter instead of a bound.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from alembic import op

from ledger.store.dialects import dialect_of

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# (old name, old columns) -> (new name, new columns)
_USER_DAY = (
    ("ix_actions_ledger_user_day", ["ledger_id", "user_id", "day"]),
    ("ix_actions_user_ledger_day", ["user_id", "ledger_id", "day"]),
)
_SOURCE_KEY = (("uq_actions_ledger_source_key", ["ledger_id", "source_key"]), ("uq_actions_source_key_ledger", ["source_key", "ledger_id"]))


def upgrade() -> None:
    _replace(_USER_DAY[0], _USER_DAY[1], unique=False)
    _replace(_SOURCE_KEY[0], _SOURCE_KEY[1], unique=True)


def downgrade() -> None:
    _replace(_USER_DAY[1], _USER_DAY[0], unique=False)
    _replace(_SOURCE_KEY[1], _SOURCE_KEY[0], unique=True)


def _replace(old: tuple[str, list[str]], new: tuple[str, list[str]], *, unique: bool) -> None:
    """Drop index `old` and build `new` in its place. On PostgreSQL a unique key is a
    constraint; on SQLite a unique index (revision 0006), so bulk loads can set it aside."""
    postgres = dialect_of(op.get_bind()).is_postgresql
    if unique and postgres:
        op.drop_constraint(old[0], "actions", type_="unique")
        op.create_unique_constraint(new[0], "actions", new[1])
    else:
        op.drop_index(old[0], table_name="actions")
        op.create_index(new[0], "actions", new[1], unique=unique)
