"""Period totals: points per user in each calendar month, quarter and year.

A leaderboard of one such period reads `period_totals` in rank order and stops at its limit
(sql/standings.sql `leaderboard_period`), instead of summing up to a year of daily_scores.
The table is a projection of daily_scores, kept in step with it inside the recalculation's
transaction (ledger/replay.py `recalc`):

- `rebuild` after a full recalculation on SQLite has replaced the ledger's daily rows (and
  before it sums the user totals from the year rows, ledger/rebuild.py); on PostgreSQL,
  where a full recalculation prices in parts, `total_part` in each part's session and
  `total_years` after;
- `apply_changes` in an incremental one, before the daily rows in scope are replaced.

SQL: sql/rollups.sql, with the dialect forms in sql/postgresql/ and sql/sqlite/.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection

from ledger.store.statements import run


def rebuild(conn: Connection, ledger_id: int) -> None:
    """SQLite: recompute the period totals of ledger number `ledger_id` from its
    daily_scores, in one pass (the table emptied whole when it holds no other ledger)."""
    if _holds_other_ledgers(conn, ledger_id):
        run(conn, "delete_period_totals_of_ledger", ledger_id=ledger_id)
    else:
        run(conn, "empty_period_totals")
    run(conn, "rebuild_period_totals", ledger_id=ledger_id)


def total_part(conn: Connection, ledger_id: int, part: int | None, days: tuple[date, date]) -> None:
    """PostgreSQL, a full rebuild priced in parts cut at quarter starts (ledger/rebuild.py):
    the months and quarters of one part's `days`, from its daily rows, into the part's own
    tables (ledger/store/projection_parts.py): by their names for the first part, totalled
    in the rebuilding transaction (`part` None), else through replay_rebuilt_periods. Its
    pieces of years go to replay_rebuilt_year_pieces."""
    if part is None:
        run(conn, "total_part_periods", ledger_id=ledger_id)
    else:
        run(conn, "total_part_periods_apart", ledger_id=ledger_id, part=part, from_day=days[0], to_day=days[1])


def total_years(conn: Connection, ledger_id: int) -> None:
    """After `total_part` of every part: each year of the ledger, summed from every part's
    pieces of it, into the rebuild's table of years."""
    run(conn, "total_years_from_pieces", ledger_id=ledger_id)


def apply_changes(conn: Connection, ledger_id: int) -> None:
    """Move each (user, period) that an incremental recalculation touches by the change in
    its points: what the scope prices to now (replay_priced) minus what the daily rows in
    scope (replay_days' whole days, replay_pairs) held before. Call it after pricing and
    before those daily rows are replaced."""
    run(conn, "add_period_totals_changes", ledger_id=ledger_id)


def _holds_other_ledgers(conn: Connection, ledger_id: int) -> bool:
    return bool(run(conn, "period_totals_hold_other_ledgers", ledger_id=ledger_id).scalar())
