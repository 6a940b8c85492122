-- name: reaction_received
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- scoreledger, Discourse gamification reaction_received: discourse-reactions rows on posts
-- not deleted, not wiki, outside private messages, credited to the post's author.
SELECT reactions.id AS key, p.user_id, reactions.created_at AS occurred_at, 1 AS quantity,
       t.category_id, p.topic_id, p.id AS post_id
FROM discourse_reactions_reaction_users AS reactions
INNER JOIN posts AS p ON p.id = reactions.post_id
INNER JOIN topics AS t ON t.id = p.topic_id
WHERE reactions.id > :after
  AND p.user_id IS NOT NULL
  AND p.deleted_at IS NULL
  AND t.archetype <> 'private_message'
  AND p.wiki IS FALSE
ORDER BY reactions.id
LIMIT :limit
