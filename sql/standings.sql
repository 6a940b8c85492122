-- Leaderboards, ranked in the database so only the top rows leave it.
-- Rows come most points first, ties by user id; `dense_rank` and `rank` rank on points alone
-- (1, 1, 2 and 1, 1, 3 after a tie), `row_number` numbers every row.
-- :excluded is a list of user ids bound as IN (...); :row_limit a row count.

-- name: ranked_columns
-- A fragment (see ledger/sqlfiles.py) of each leaderboard: its rows with all three rankings.
SELECT user_id, points,
       dense_rank() OVER (ORDER BY points DESC) AS dense_rank,
       rank() OVER (ORDER BY points DESC) AS rank,
       row_number() OVER (ORDER BY points DESC, user_id) AS row_number

-- name: leaderboard_all
-- All of history: the per-user totals, read in points order through ix_user_totals_ranking.
-- include: ranked_columns
FROM user_totals
WHERE ledger_id = :ledger_id AND user_id NOT IN :excluded
ORDER BY points DESC, user_id
LIMIT :row_limit

-- name: leaderboard_days
-- A day range: daily points summed per user; the key of daily_scores covers
-- (ledger_id, day, user_id, points), so this reads the index alone.
-- include: ranked_columns
FROM (
    SELECT user_id, SUM(points) AS points
    FROM daily_scores
    WHERE ledger_id = :ledger_id AND day >= :from_day AND day <= :to_day AND user_id NOT IN :excluded
    GROUP BY user_id
) period_points
ORDER BY points DESC, user_id
LIMIT :row_limit

-- name: leaderboard_period
-- Exactly one calendar month, quarter or year: that period's per-user totals
-- (ledger/rollups.py), one range of pk_period_totals and its rows. Users with
-- daily rows in the period and 0 points have a row, as in `leaderboard_days`.
-- The limit applies before ranking: a row's rank depends only on the rows before it, and
-- SQLite would otherwise rank every row of the period first.
-- include: ranked_columns
FROM (
    SELECT user_id, points
    FROM period_totals
    WHERE ledger_id = :ledger_id AND period_months = :period_months AND period_start = :period_start AND user_id NOT IN :excluded
    ORDER BY points DESC, user_id
    LIMIT :row_limit
) top_rows
ORDER BY points DESC, user_id
