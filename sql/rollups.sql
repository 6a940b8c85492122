-- Period totals (table period_totals): points per user in each calendar month, quarter and
-- year, kept in step with daily_scores by ledger/rollups.py so that the leaderboard of one
-- such period is an index walk (sql/standings.sql `leaderboard_period`).
-- A period's row is its first day: the 1st of the month, of the quarter's first month, or
-- January 1st. A user with daily rows in a period has a row for it, even at 0 points, as
-- summing the daily rows would give.
-- Computing a period's first day differs by dialect: `rebuild_period_totals` and
-- `add_period_totals_changes` are in sql/postgresql/rollups.sql and sql/sqlite/rollups.sql.

-- name: delete_period_totals_of_ledger
DELETE FROM period_totals WHERE ledger_id = :ledger_id

-- name: empty_period_totals
-- Only when the table holds no other ledger. Without a WHERE clause SQLite frees the table's
-- pages at once instead of deleting row by row (its "truncate optimization"); readers keep
-- their WAL snapshot.
DELETE FROM period_totals

-- name: period_totals_hold_other_ledgers
-- Two range probes of the key, which leads with the ledger (no `<>`: that would read this
-- ledger's rows one by one).
SELECT EXISTS (SELECT 1 FROM period_totals WHERE ledger_id < :ledger_id)
    OR EXISTS (SELECT 1 FROM period_totals WHERE ledger_id > :ledger_id)
