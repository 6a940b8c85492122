-- name: post_read
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- scoreledger, Discourse gamification post_read: visits with posts_read >= 5, the quantity
-- is the posts read (the plugin scores floor(posts / 100) per user and day).
SELECT uv.id AS key, uv.user_id, CAST(uv.visited_at AS timestamp) AS occurred_at, uv.posts_read AS quantity,
       CAST(NULL AS integer) AS category_id, CAST(NULL AS integer) AS topic_id, CAST(NULL AS integer) AS post_id
FROM user_visits AS uv
WHERE uv.id > :after AND uv.posts_read >= 5
ORDER BY uv.id
LIMIT :limit
