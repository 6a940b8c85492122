-- name: post_changes
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- scoreledger: when each post, or its topic, last changed (deleted, restored, hidden, moved),
-- as the forum tells it: the time a full import books a retraction or reinstatement at.
SELECT p.id AS key,
       GREATEST(p.updated_at, p.deleted_at, t.updated_at, t.deleted_at) AS changed_at
FROM posts AS p
INNER JOIN topics AS t ON t.id = p.topic_id
WHERE p.id > :after
ORDER BY p.id
LIMIT :limit
