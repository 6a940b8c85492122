"""Period totals: points per user in each calendar month, quarter and year.

A leaderboard of one such period reads `period_totals` in rank order and stops at its limit
(sql/standings.sql `leaderboard_period`), instead of summing up to a year of daily_scores.
The table is a projection of daily_scores, kept in step with it inside the recalculation's
transaction (ledger/replay.py `recalc`):

- `rebuild` after a full recalculation on SQLite has replaced the ledger's daily rows (and
  before it sums the user totals from the year rows, ledger/rebuild.py); on PostgreSQL,
  where a full recalculation prices in parts, `total_part` in each part's session and
  `join_parts` after;
- `apply_changes` in an incremental one, before the daily rows in scope are replaced.

SQL: sql/rollups.sql, with the dialect forms in sql/postgresql/ and sql/sqlite/.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import date

from sqlalchemy import Connection

from ledger.store.bulk_indexes import indexes_set_aside
from ledger.store.dialects import dialect_of
from ledger.store.statements import run

TABLE = "period_totals"


def rebuild(conn: Connection, ledger_id: int) -> None:
    """Recompute the period totals of ledger number `ledger_id` from its daily_scores, in one pass."""
    with emptied(conn, ledger_id):
        run(conn, "rebuild_period_totals", ledger_id=ledger_id)


@contextmanager
def emptied(conn: Connection, ledger_id: int) -> Iterator[None]:
    """The ledger's period totals deleted, to be written afresh in the block.

    When no other ledger has rows here the table is emptied whole, and on PostgreSQL loaded
    without its indexes, which are then built once from the loaded rows: maintaining them
    row by row means random inserts into two B-trees larger than the buffer cache.
    PostgreSQL's readers wait for the commit (ledger/rebuild.py `projection_reads`).
    Not analyzed here: the rebuild that empties it analyzes it once committed.
    """
    if _holds_other_ledgers(conn, ledger_id):
        run(conn, "delete_period_totals_of_ledger", ledger_id=ledger_id)
        yield
        return
    run(conn, "empty_period_totals")
    with indexes_set_aside(conn, TABLE, analyze=False) if dialect_of(conn).is_postgresql else nullcontext():
        yield


def total_part(conn: Connection, ledger_id: int, part: int | None, days: tuple[date, date]) -> None:
    """PostgreSQL, a full rebuild priced in parts cut at quarter starts (ledger/rebuild.py):
    the months and quarters of one part's `days`, from its daily rows in its scratch table;
    into period_totals for the first part, totalled in the rebuilding transaction (`part`
    None), else into replay_rebuilt_periods. Its pieces of years go to replay_rebuilt_years."""
    if part is None:
        run(conn, "total_part_periods", ledger_id=ledger_id)
    else:
        run(conn, "total_part_periods_apart", ledger_id=ledger_id, part=part, from_day=days[0], to_day=days[1])


def join_parts(conn: Connection, ledger_id: int, parts: list[int]) -> None:
    """After `total_part` of every part: move the rows of `parts` (those totalled apart)
    into period_totals, then sum the years from every part's pieces of them."""
    for part in parts:
        run(conn, "move_rebuilt_periods", ledger_id=ledger_id, part=part)
    run(conn, "total_years_from_pieces", ledger_id=ledger_id)


def apply_changes(conn: Connection, ledger_id: int) -> None:
    """Move each (user, period) that an incremental recalculation touches by the change in
    its points: what the scope prices to now (replay_priced) minus what the daily rows in
    scope (replay_days' whole days, replay_pairs) held before. Call it after pricing and
    before those daily rows are replaced."""
    run(conn, "add_period_totals_changes", ledger_id=ledger_id)


def _holds_other_ledgers(conn: Connection, ledger_id: int) -> bool:
    return bool(run(conn, "period_totals_hold_other_ledgers", ledger_id=ledger_id).scalar())
