"""Period totals: points per user in each calendar month, quarter and year.

A leaderboard of one such period reads `period_totals` in rank order and stops at its limit
(sql/standings.sql `leaderboard_period`), instead of summing up to a year of daily_scores.
The table is a projection of daily_scores, kept in step with it inside the recalculation's
transaction (ledger/replay.py `recalc`):

- `rebuild` after a full recalculation has replaced the ledger's daily rows;
- `apply_changes` in an incremental one, before the daily rows in scope are replaced.

SQL: sql/rollups.sql, with the dialect forms in sql/postgresql/ and sql/sqlite/.
"""

from __future__ import annotations

from contextlib import nullcontext

from sqlalchemy import Connection

# `from ledger import replay`, not its names: replay imports this module.
from ledger import replay
from ledger.store.bulk_indexes import indexes_set_aside

TABLE = "period_totals"


def rebuild(conn: Connection, ledger: str) -> None:
    """Recompute `ledger`'s period totals from its daily_scores, in one pass.

    When no other ledger has rows here the table is emptied whole, and on PostgreSQL loaded
    without its indexes, which are then built once from the loaded rows: maintaining them
    row by row took twice as long at 3M actions (random inserts into two B-trees larger than
    the buffer cache). PostgreSQL's readers wait for the commit (`wait_for_rebuild`).
    """
    if _holds_other_ledgers(conn, ledger):
        replay.run(conn, "delete_period_totals_of_ledger", ledger=ledger)
        replay.run(conn, "rebuild_period_totals", ledger=ledger)
        return
    replay.run(conn, "empty_period_totals")
    with indexes_set_aside(conn, TABLE) if conn.dialect.name == "postgresql" else nullcontext():
        replay.run(conn, "rebuild_period_totals", ledger=ledger)


def apply_changes(conn: Connection, ledger: str) -> None:
    """Move each (user, period) that an incremental recalculation touches by the change in
    its points: what the scope prices to now (replay_priced) minus what the daily rows in
    scope (replay_days' whole days, replay_pairs) held before. Call it after pricing and
    before those daily rows are replaced."""
    replay.run(conn, "add_period_totals_changes", ledger=ledger)


def wait_for_rebuild(conn: Connection) -> None:
    """Before reading period_totals in a transaction, on PostgreSQL: wait for a rebuild in
    progress to commit, before the transaction takes its snapshot.

    A rebuild empties the table with TRUNCATE, which is not MVCC-safe: a reader whose
    snapshot was taken before the rebuild committed would find the table empty instead of
    the previous totals. Taking the table's lock first (LOCK takes no snapshot) queues the
    reader behind the rebuild, and its snapshot then sees the new totals. Must come before
    any statement that takes a snapshot."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"LOCK TABLE {TABLE} IN ACCESS SHARE MODE")


def _holds_other_ledgers(conn: Connection, ledger: str) -> bool:
    return bool(replay.run(conn, "period_totals_hold_other_ledgers", ledger=ledger).scalar())
