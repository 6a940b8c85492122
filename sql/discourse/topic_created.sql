-- name: topic_created
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- scoreledger, Discourse gamification topic_created: topics not deleted, not private messages.
SELECT t.id AS key, t.user_id, t.created_at AS occurred_at, 1 AS quantity,
       t.category_id, t.id AS topic_id, CAST(NULL AS integer) AS post_id
FROM topics AS t
WHERE t.id > :after
  AND t.user_id IS NOT NULL
  AND t.deleted_at IS NULL
  AND t.archetype <> 'private_message'
ORDER BY t.id
LIMIT :limit
