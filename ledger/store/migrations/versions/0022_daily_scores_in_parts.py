"""On PostgreSQL, daily_scores is partitioned by (ledger, day): each ledger's daily rows
lie in parts of their own, one range of days each (ledger/store/daily_parts.py).

A full rebuild prices a large ledger's ranges of days in sessions of their own at once. The
rows of the other sessions used to be copied into daily_scores and its key built again over
every row, alone in the rebuilding transaction; now each session builds its part's key over
its own rows, and the rebuilding transaction attaches the parts in place of the ledger's old
ones. Reads and incremental recalculations go through daily_scores as before: a (ledger,
day) finds its part by the partition bounds.

The rows are kept: each ledger's rows move into one part over all its days, which its next
full rebuild splits as it prices. SQLite keeps one table: nothing changes there.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05
"""

from alembic import op
from sqlalchemy import Connection

from ledger.store import daily_parts
from ledger.store.dialects import dialect_of

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

COLUMNS = "ledger_id, day, user_id, points"


def upgrade() -> None:
    conn = op.get_bind()
    if not dialect_of(conn).is_postgresql:
        return
    _set_aside_previous_table(conn)
    daily_parts.create_parent(conn, daily_parts.PARENT)
    ledgers = conn.exec_driver_sql(
        "SELECT number FROM ledger_numbers UNION SELECT DISTINCT ledger_id FROM daily_scores_previous ORDER BY 1"
    ).scalars()
    for ledger_id in list(ledgers):
        daily_parts.create_whole_part(conn, ledger_id)
    conn.exec_driver_sql(f"INSERT INTO daily_scores ({COLUMNS}) SELECT {COLUMNS} FROM daily_scores_previous")
    conn.exec_driver_sql("DROP TABLE daily_scores_previous")


def downgrade() -> None:
    conn = op.get_bind()
    if not dialect_of(conn).is_postgresql:
        return
    _set_aside_previous_table(conn)
    conn.exec_driver_sql(
        "CREATE UNLOGGED TABLE daily_scores (ledger_id INTEGER NOT NULL, day DATE NOT NULL, user_id BIGINT NOT NULL, "
        "points BIGINT NOT NULL, CONSTRAINT pk_daily_scores PRIMARY KEY (ledger_id, day, user_id) INCLUDE (points))"
    )
    conn.exec_driver_sql(f"INSERT INTO daily_scores ({COLUMNS}) SELECT {COLUMNS} FROM daily_scores_previous")
    # Dropping the partitioned table drops its parts.
    conn.exec_driver_sql("DROP TABLE daily_scores_previous")


def _set_aside_previous_table(conn: Connection) -> None:
    """Rename daily_scores and its key out of the way of the table that replaces it."""
    conn.exec_driver_sql("ALTER TABLE daily_scores RENAME TO daily_scores_previous")
    conn.exec_driver_sql("ALTER INDEX pk_daily_scores RENAME TO pk_daily_scores_previous")
