-- name: reaction_received
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- datetime :changed_since = 9999-12-31T00:00:00
-- scoreledger, Discourse gamification reaction_received: discourse-reactions rows on posts
-- not deleted, not wiki, outside private messages, credited to the post's author.
-- Rows scoring now (`scores`), or with :changed_since before 9999, every row changed since
-- then whether it scores or not (`changed_at`: the latest time the forum wrote to it).
SELECT found.* FROM (
SELECT reactions.id AS key, p.user_id, reactions.created_at AS occurred_at, 1 AS quantity,
       t.category_id, p.topic_id, p.id AS post_id,
       (p.user_id IS NOT NULL
        AND p.deleted_at IS NULL
        AND t.archetype <> 'private_message'
        AND p.wiki IS FALSE) AS scores,
       GREATEST(reactions.updated_at, p.updated_at, p.deleted_at, t.updated_at, t.deleted_at) AS changed_at
FROM discourse_reactions_reaction_users AS reactions
INNER JOIN posts AS p ON p.id = reactions.post_id
INNER JOIN topics AS t ON t.id = p.topic_id
WHERE reactions.id > :after
) AS found
WHERE CASE WHEN :changed_since < TIMESTAMP '9999-01-01' THEN found.changed_at >= :changed_since ELSE found.scores END
ORDER BY found.key
LIMIT :limit
