-- name: post_created
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- datetime :changed_since = 9999-12-31T00:00:00
-- scoreledger, Discourse gamification post_created: regular replies (not the first post),
-- not wiki, not hidden, post and topic not deleted, not in a private message.
-- Rows scoring now (`scores`), or with :changed_since before 9999, every row changed since
-- then whether it scores or not (`changed_at`: the latest time the forum wrote to it, and hiding a
-- post sets hidden_at only).
SELECT found.* FROM (
SELECT p.id AS key, p.user_id, p.created_at AS occurred_at, 1 AS quantity,
       t.category_id, p.topic_id, p.id AS post_id,
       (p.user_id IS NOT NULL
        AND p.deleted_at IS NULL
        AND t.deleted_at IS NULL
        AND t.archetype <> 'private_message'
        AND p.post_number <> 1
        AND p.post_type = 1
        AND p.wiki IS FALSE
        AND p.hidden IS FALSE) AS scores,
       GREATEST(p.updated_at, p.deleted_at, p.hidden_at, t.updated_at, t.deleted_at) AS changed_at
FROM posts AS p
INNER JOIN topics AS t ON t.id = p.topic_id
WHERE p.id > :after
-- Changed rows: one pass over posts (Discourse indexes no posts.updated_at), not the join.
  AND (:changed_since >= TIMESTAMP '9999-01-01'
       OR p.updated_at >= :changed_since OR p.deleted_at >= :changed_since OR p.hidden_at >= :changed_since
       OR p.topic_id IN (SELECT ct.id FROM topics AS ct WHERE (ct.updated_at >= :changed_since OR ct.deleted_at >= :changed_since)))
) AS found
WHERE CASE WHEN :changed_since < TIMESTAMP '9999-01-01' THEN found.changed_at >= :changed_since ELSE found.scores END
ORDER BY found.key
LIMIT :limit
