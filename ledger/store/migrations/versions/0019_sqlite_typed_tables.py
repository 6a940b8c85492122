"""On SQLite, the tables made before column type checks existed refuse values of another type.

SQLite stores any value in any column, and a value of another type prices one way in SQL and
reads another way in Python (issue 23). Tables and columns added since revision 0011 carry
CHECK constraints on their values' storage class and spelling (ledger/store/typed_columns.py);
this revision gives such checks to the older columns of the journal's tables, the ledger
numbers and the projections (`TYPED` says which, and where the spelling is left to
`verify`). SQLite cannot add a CHECK to a table, so each table is
rebuilt in place with its rows, indexes, triggers (the append-only guards) and views
(ledger/store/sqlite_rebuild.py), in the migration's transaction. A ledger that holds a
value of another type (which `verify` reports) fails this upgrade at that table's CHECK,
and nothing is changed. PostgreSQL enforces column types itself: nothing changes there.

The columns and types are listed here as they are at this revision, not read from the
metadata, so that the revision means the same whatever later code declares.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from ledger.store.dialects import dialect_of
from ledger.store.sqlite_rebuild import rebuild_tables, table_definition, with_constraints, without_constraints
from ledger.store.typed_columns import sqlite_type_check

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

BIG = sa.BigInteger
INT = sa.Integer
TEXT = sa.String
DAY = sa.Date
TIME = sa.DateTime
# A day or time checked for its storage class alone, not its spelling: on the tables written
# a row per action or per user and day, each spelling check costs ingest and recalc time
# that the storage class alone does not (docs/performance-log.md, 2026-12-04); `verify`
# still reads every spelling strictly.
TEXT_ONLY = sa.String
# table -> (column, type, nullable), parents before children (the rebuild's order). Columns
# that already had a check (batches.mac, ledger_numbers' totals and timezone,
# schedule_versions.enabled and start_date) keep theirs; rowid columns (actions.seq,
# ledger_numbers.number) refuse any other type by themselves. actions checks the columns
# pricing reads (those of ix_actions_replay): every check is paid on every ingested row.
TYPED: dict[str, list[tuple[str, type[sa.types.TypeEngine], bool]]] = {
    "batches": [
        ("batch_id", BIG, False),
        ("ledger", TEXT, False),
        ("kind", TEXT, False),
        ("recorded_at", TIME, False),
        ("first_seq", BIG, False),
        ("last_seq", BIG, False),
        ("event_count", INT, False),
        ("origin", TEXT, True),
        ("prev_hash", TEXT, True),
        ("hash", TEXT, True),
    ],
    "ledger_numbers": [("ledger", TEXT, False)],
    "actions": [
        ("ledger_id", INT, False),
        ("user_id", BIG, False),
        ("action", TEXT, False),
        ("day", TEXT_ONLY, False),
        ("quantity", BIG, False),
        ("attributes", TEXT, False),
    ],
    "schedule_versions": [
        ("seq", BIG, False),
        ("batch_id", BIG, False),
        ("ledger", TEXT, False),
        ("version_key", TEXT, False),
        ("effective_from", DAY, False),
        ("levels", TEXT, True),
        ("author", TEXT, True),
        ("reason", TEXT, True),
        ("link", TEXT, True),
        ("retroactive", sa.Boolean, False),
        ("recorded_at", TIME, False),
    ],
    "schedule_rules": [
        ("version_seq", BIG, False),
        ("action", TEXT, False),
        ("value", BIG, False),
        ("per", BIG, True),
        ("min_quantity", BIG, True),
        ("by_attribute", TEXT, True),
    ],
    "schedule_rule_points": [
        ("version_seq", BIG, False),
        ("action", TEXT, False),
        ("attribute_value", TEXT, False),
        ("points", BIG, False),
    ],
    "daily_scores": [("ledger_id", INT, False), ("day", TEXT_ONLY, False), ("user_id", BIG, False), ("points", BIG, False)],
    "user_totals": [("ledger_id", INT, False), ("user_id", BIG, False), ("points", BIG, False)],
    "period_totals": [
        ("ledger_id", INT, False),
        ("period_months", sa.SmallInteger, False),
        ("period_start", TEXT_ONLY, False),
        ("user_id", BIG, False),
        ("points", BIG, False),
    ],
    "projection_state": [("ledger", TEXT, False), ("through_seq", BIG, False), ("updated_at", TIME, False), ("rebuilt_at", TIME, True)],
}


def checks(table: str) -> list[str]:
    """The table constraints this revision adds to `table`."""
    return [
        f"CONSTRAINT ck_{table}_{column}_type CHECK ({sqlite_type_check(column, kind, nullable=nullable)})"
        for column, kind, nullable in TYPED[table]
    ]


def upgrade() -> None:
    conn = op.get_bind()
    if dialect_of(conn).is_sqlite:
        rebuild_tables(conn, {table: with_constraints(table_definition(conn, table), checks(table)) for table in TYPED})


def downgrade() -> None:
    conn = op.get_bind()
    if dialect_of(conn).is_sqlite:
        rebuild_tables(conn, {table: without_constraints(table_definition(conn, table), checks(table)) for table in TYPED})
