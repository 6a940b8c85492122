-- name: post_read
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- datetime :changed_since = 9999-12-31T00:00:00
-- scoreledger, Discourse gamification post_read: visits with posts_read >= 5, the quantity
-- is the posts read (the plugin scores floor(posts / 100) per user and day).
-- Rows scoring now (`scores`), or with :changed_since before 9999, every row changed since
-- then whether it scores or not (`changed_at`: the latest time the forum wrote to it).
SELECT found.* FROM (
SELECT uv.id AS key, uv.user_id, CAST(uv.visited_at AS timestamp) AS occurred_at, uv.posts_read AS quantity,
       CAST(NULL AS integer) AS category_id, CAST(NULL AS integer) AS topic_id, CAST(NULL AS integer) AS post_id,
       (uv.posts_read >= 5) AS scores,
       CAST(uv.visited_at AS timestamp) + INTERVAL '2 days' AS changed_at
FROM user_visits AS uv
WHERE uv.id > :after
-- Changed visits are the recent days, read off Discourse's index on visited_at.
  AND (:changed_since >= TIMESTAMP '9999-01-01' OR uv.visited_at >= CAST(:changed_since AS date) - 2)
) AS found
WHERE CASE WHEN :changed_since < TIMESTAMP '9999-01-01' THEN found.changed_at >= :changed_since ELSE found.scores END
ORDER BY found.key
LIMIT :limit
