-- name: time_read
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- scoreledger, Discourse gamification time_read: visits with time_read >= 60 seconds, the
-- quantity is the seconds read (the plugin scores floor(seconds / 3600) per user and day).
SELECT uv.id AS key, uv.user_id, CAST(uv.visited_at AS timestamp) AS occurred_at, uv.time_read AS quantity,
       CAST(NULL AS integer) AS category_id, CAST(NULL AS integer) AS topic_id, CAST(NULL AS integer) AS post_id
FROM user_visits AS uv
WHERE uv.id > :after AND uv.time_read >= 60
ORDER BY uv.id
LIMIT :limit
