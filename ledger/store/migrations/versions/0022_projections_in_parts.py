"""On PostgreSQL, daily_scores and period_totals are partitioned: each ledger's rows lie in
parts of their own, one range of days each (ledger/store/projection_parts.py).

A full rebuild prices a large ledger's ranges of days in sessions of their own at once. The
rows of the other sessions used to be copied into the projections and their keys built again
over every row, alone in the rebuilding transaction; now each session builds its parts' keys
over its own rows, and the rebuilding transaction attaches the parts in place of the
ledger's old ones. Reads and incremental recalculations go through the tables as before: a
row finds its part by the partition bounds.

The rows are kept: each ledger's rows of each table move into one part over all of them,
which its next full rebuild splits. SQLite keeps one table each: nothing changes there.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05
"""

from alembic import op
from sqlalchemy import Connection

from ledger.store.dialects import dialect_of
from ledger.store.projection_parts import DAILY, PERIODS, PartedTable, create_parent, create_whole_part

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

COLUMNS = {
    "daily_scores": "ledger_id, day, user_id, points",
    "period_totals": "ledger_id, period_months, period_start, user_id, points",
}
# The tables as revision 0021 left them.
UNPARTED = {
    "daily_scores": "CREATE UNLOGGED TABLE daily_scores (ledger_id INTEGER NOT NULL, day DATE NOT NULL, user_id BIGINT NOT NULL, "
    "points BIGINT NOT NULL, CONSTRAINT pk_daily_scores PRIMARY KEY (ledger_id, day, user_id) INCLUDE (points))",
    "period_totals": "CREATE UNLOGGED TABLE period_totals (ledger_id INTEGER NOT NULL, period_months SMALLINT NOT NULL, "
    "period_start DATE NOT NULL, user_id BIGINT NOT NULL, points BIGINT NOT NULL, "
    "CONSTRAINT ck_period_totals_period_months CHECK (period_months IN (1, 3, 12)), "
    "CONSTRAINT pk_period_totals PRIMARY KEY (ledger_id, period_months, period_start, user_id)) WITH (fillfactor = 90)",
}


def upgrade() -> None:
    conn = op.get_bind()
    if not dialect_of(conn).is_postgresql:
        return
    for table in (DAILY, PERIODS):
        _set_aside(conn, table)
        create_parent(conn, table)
        ledgers = conn.exec_driver_sql(f"SELECT number FROM ledger_numbers UNION SELECT ledger_id FROM {table.name}_previous ORDER BY 1")
        for ledger_id in list(ledgers.scalars()):
            create_whole_part(conn, table, ledger_id)
        _copy_back(conn, table)


def downgrade() -> None:
    conn = op.get_bind()
    if not dialect_of(conn).is_postgresql:
        return
    for table in (DAILY, PERIODS):
        _set_aside(conn, table)
        conn.exec_driver_sql(UNPARTED[table.name])
        _copy_back(conn, table)


def _set_aside(conn: Connection, table: PartedTable) -> None:
    """Rename `table` and its key out of the way of the table that replaces it."""
    conn.exec_driver_sql(f"ALTER TABLE {table.name} RENAME TO {table.name}_previous")
    conn.exec_driver_sql(f"ALTER INDEX {table.key_name} RENAME TO {table.key_name}_previous")


def _copy_back(conn: Connection, table: PartedTable) -> None:
    """Every row of the table set aside into its replacement; then the old one dropped (with
    its parts, if it had them)."""
    columns = COLUMNS[table.name]
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {table.name}_previous")
    conn.exec_driver_sql(f"DROP TABLE {table.name}_previous")
