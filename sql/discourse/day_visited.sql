-- name: day_visited
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- scoreledger, Discourse gamification day_visited: every visit (one row per user and day).
-- Columns: key, user_id, occurred_at, quantity, category_id, topic_id, post_id.
SELECT uv.id AS key, uv.user_id, CAST(uv.visited_at AS timestamp) AS occurred_at, 1 AS quantity,
       CAST(NULL AS integer) AS category_id, CAST(NULL AS integer) AS topic_id, CAST(NULL AS integer) AS post_id
FROM user_visits AS uv
WHERE uv.id > :after
ORDER BY uv.id
LIMIT :limit
