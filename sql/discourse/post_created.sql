-- name: post_created
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- scoreledger, Discourse gamification post_created: regular replies (not the first post),
-- not wiki, not hidden, post and topic not deleted, not in a private message.
SELECT p.id AS key, p.user_id, p.created_at AS occurred_at, 1 AS quantity,
       t.category_id, p.topic_id, p.id AS post_id
FROM posts AS p
INNER JOIN topics AS t ON t.id = p.topic_id
WHERE p.id > :after
  AND p.user_id IS NOT NULL
  AND p.deleted_at IS NULL
  AND t.deleted_at IS NULL
  AND t.archetype <> 'private_message'
  AND p.post_number <> 1
  AND p.post_type = 1
  AND p.wiki IS FALSE
  AND p.hidden IS FALSE
ORDER BY p.id
LIMIT :limit
