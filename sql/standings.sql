-- Leaderboards, ranked in the database so only the top rows leave it.
-- Rows come most points first, ties by user id; `dense_rank` and `rank` rank on points alone
-- (1, 1, 2 and 1, 1, 3 after a tie), `row_number` numbers every row.
-- :excluded is a list of user ids bound as IN (...); :row_limit a row count.

-- name: leaderboard_all
-- All of history: the per-user totals, read in points order through ix_user_totals_ranking.
SELECT user_id, points,
       dense_rank() OVER (ORDER BY points DESC) AS dense_rank,
       rank() OVER (ORDER BY points DESC) AS rank,
       row_number() OVER (ORDER BY points DESC, user_id) AS row_number
FROM user_totals
WHERE ledger = :ledger AND user_id NOT IN :excluded
ORDER BY points DESC, user_id
LIMIT :row_limit

-- name: leaderboard_days
-- A day range: daily points summed per user; the key of daily_scores covers
-- (ledger, day, user_id, points), so this reads the index alone.
SELECT user_id, points,
       dense_rank() OVER (ORDER BY points DESC) AS dense_rank,
       rank() OVER (ORDER BY points DESC) AS rank,
       row_number() OVER (ORDER BY points DESC, user_id) AS row_number
FROM (
    SELECT user_id, SUM(points) AS points
    FROM daily_scores
    WHERE ledger = :ledger AND day >= :from_day AND day <= :to_day AND user_id NOT IN :excluded
    GROUP BY user_id
) period_points
ORDER BY points DESC, user_id
LIMIT :row_limit
