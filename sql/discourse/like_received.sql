-- name: like_received
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- scoreledger, Discourse gamification like_received: likes (post_actions type 2) on posts not
-- deleted, not wiki, outside private messages. As in the plugin, the like's own deleted_at
-- and the topic's deleted_at are not checked: an un-liked like still scores.
SELECT pa.id AS key, p.user_id AS user_id, pa.created_at AS occurred_at, 1 AS quantity,
       t.category_id, p.topic_id, p.id AS post_id
FROM post_actions AS pa
INNER JOIN posts AS p ON p.id = pa.post_id
INNER JOIN topics AS t ON t.id = p.topic_id
WHERE pa.id > :after
  AND p.user_id IS NOT NULL
  AND pa.post_action_type_id = 2
  AND p.deleted_at IS NULL
  AND t.archetype <> 'private_message'
  AND p.wiki IS FALSE
ORDER BY pa.id
LIMIT :limit
