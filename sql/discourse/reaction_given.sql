-- name: reaction_given
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- scoreledger, Discourse gamification reaction_given: discourse-reactions rows on posts not
-- deleted, not wiki, in topics not deleted (private messages are NOT excluded, as in the plugin).
SELECT reactions.id AS key, reactions.user_id, reactions.created_at AS occurred_at, 1 AS quantity,
       t.category_id, p.topic_id, p.id AS post_id
FROM discourse_reactions_reaction_users AS reactions
INNER JOIN posts AS p ON p.id = reactions.post_id
INNER JOIN topics AS t ON t.id = p.topic_id
WHERE reactions.id > :after
  AND reactions.user_id IS NOT NULL
  AND p.deleted_at IS NULL
  AND t.deleted_at IS NULL
  AND p.wiki IS FALSE
ORDER BY reactions.id
LIMIT :limit
