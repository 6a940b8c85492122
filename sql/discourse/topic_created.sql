-- name: topic_created
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- datetime :changed_since = 9999-12-31T00:00:00
-- scoreledger, Discourse gamification topic_created: topics not deleted, not private messages.
-- Rows scoring now (`scores`), or with :changed_since before 9999, every row changed since
-- then whether it scores or not (`changed_at`: the latest time the forum wrote to it).
SELECT found.* FROM (
SELECT t.id AS key, t.user_id, t.created_at AS occurred_at, 1 AS quantity,
       t.category_id, t.id AS topic_id, CAST(NULL AS integer) AS post_id,
       (t.user_id IS NOT NULL
        AND t.deleted_at IS NULL
        AND t.archetype <> 'private_message') AS scores,
       GREATEST(t.updated_at, t.deleted_at) AS changed_at
FROM topics AS t
WHERE t.id > :after
) AS found
WHERE CASE WHEN :changed_since < TIMESTAMP '9999-01-01' THEN found.changed_at >= :changed_since ELSE found.scores END
ORDER BY found.key
LIMIT :limit
