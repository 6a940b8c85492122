-- PostgreSQL forms of the projection check's fragments (see sql/projection_check.sql).

-- name: periods_of_replay_priced
-- Each recomputed daily row under its month, its quarter and its year.
SELECT 1 AS months, CAST(date_trunc('month', day) AS date) AS period_start, user_id, points FROM replay_priced
UNION ALL
SELECT 3, CAST(date_trunc('quarter', day) AS date), user_id, points FROM replay_priced
UNION ALL
SELECT 12, CAST(date_trunc('year', day) AS date), user_id, points FROM replay_priced
