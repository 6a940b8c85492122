-- SQLite forms of the projection check's fragments (see sql/projection_check.sql).

-- name: periods_of_replay_priced
-- Each recomputed daily row under its month, its quarter and its year (days are text).
SELECT 1 AS months, substr(day, 1, 8) || '01' AS period_start, user_id, points FROM replay_priced
UNION ALL
SELECT 3, substr(day, 1, 5) || CASE
    WHEN substr(day, 6, 2) <= '03' THEN '01' WHEN substr(day, 6, 2) <= '06' THEN '04'
    WHEN substr(day, 6, 2) <= '09' THEN '07' ELSE '10' END || '-01', user_id, points FROM replay_priced
UNION ALL
SELECT 12, substr(day, 1, 5) || '01-01', user_id, points FROM replay_priced
