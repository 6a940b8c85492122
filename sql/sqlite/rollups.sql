-- SQLite forms of the period totals statements (see sql/rollups.sql).
-- Months are summed from the days, then quarters and years from the months. A quarter
-- starts (month - 1) % 3 months before the first of its month.

-- name: rebuild_period_totals
-- Inserted in key order (ledger_id, period_months, period_start, user_id): the table, WITHOUT ROWID,
-- is then written in order, appending to its B-tree instead of inserting all over it.
WITH months AS (
    SELECT user_id, date(day, 'start of month') AS period_start, SUM(points) AS points
    FROM daily_scores
    WHERE ledger_id = :ledger_id
    GROUP BY user_id, 2
)
-- include: period_rows_of_months
ORDER BY 2, 3, 4

-- name: add_period_totals_changes
-- Before the daily rows in scope are replaced: each touched (user, period) moves by (new
-- points in scope - old points in scope), as `add_user_totals_changes` does for totals.
-- A (user, period) seen for the first time is inserted even at 0 points; one that exists
-- and does not move is left as it is rather than rewritten with its own value.
-- The last SELECT ends in GROUP BY, so SQLite does not read ON CONFLICT as a join's ON.
WITH change AS (
    SELECT user_id, day, points FROM replay_priced
    UNION ALL
    SELECT d.user_id, d.day, -d.points FROM daily_scores d
    WHERE d.ledger_id = :ledger_id AND d.day IN (SELECT day FROM replay_days WHERE whole = 1)
    UNION ALL
    SELECT d.user_id, d.day, -d.points FROM replay_pairs s
    JOIN daily_scores d ON d.ledger_id = :ledger_id AND d.user_id = s.user_id AND d.day = s.day
),
months AS (
    SELECT user_id, date(day, 'start of month') AS period_start, SUM(points) AS points
    FROM change
    GROUP BY user_id, 2
)
-- include: period_rows_of_months
ON CONFLICT (ledger_id, period_months, period_start, user_id) DO UPDATE SET points = period_totals.points + excluded.points
    WHERE excluded.points <> 0

-- name: period_rows_of_months
-- A fragment (see ledger/sqlfiles.py) of both statements above: the month, quarter and
-- year rows of the CTE `months` (user_id, period_start, points) as period_totals rows.
-- A period is named by its length in months: 1, 3 or 12.
INSERT INTO period_totals (ledger_id, period_months, period_start, user_id, points)
SELECT CAST(:ledger_id AS INTEGER), 1, period_start, user_id, points FROM months
UNION ALL
SELECT CAST(:ledger_id AS INTEGER), 3,
       date(period_start, '-' || ((CAST(strftime('%m', period_start) AS INTEGER) - 1) % 3) || ' months'),
       user_id, SUM(points)
FROM months GROUP BY 3, user_id
UNION ALL
SELECT CAST(:ledger_id AS INTEGER), 12, date(period_start, 'start of year'), user_id, SUM(points)
FROM months GROUP BY 3, user_id
