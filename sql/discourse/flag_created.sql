-- name: flag_created
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- scoreledger, Discourse gamification flag_created: approved reviewables (status 1) of every
-- type, credited to created_by_id, dated by the reviewable's creation.
SELECT r.id AS key, r.created_by_id AS user_id, r.created_at AS occurred_at, 1 AS quantity,
       CAST(NULL AS integer) AS category_id, CAST(NULL AS integer) AS topic_id, CAST(NULL AS integer) AS post_id
FROM reviewables AS r
WHERE r.id > :after
  AND r.created_by_id IS NOT NULL
  AND r.status = 1
ORDER BY r.id
LIMIT :limit
