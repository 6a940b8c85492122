-- name: flag_created
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- datetime :changed_since = 9999-12-31T00:00:00
-- scoreledger, Discourse gamification flag_created: approved reviewables (status 1) of every
-- type, credited to created_by_id, dated by the reviewable's creation.
-- Rows scoring now (`scores`), or with :changed_since before 9999, every row changed since
-- then whether it scores or not (`changed_at`: the latest time the forum wrote to it).
SELECT found.* FROM (
SELECT r.id AS key, r.created_by_id AS user_id, r.created_at AS occurred_at, 1 AS quantity,
       CAST(NULL AS integer) AS category_id, CAST(NULL AS integer) AS topic_id, CAST(NULL AS integer) AS post_id,
       (r.created_by_id IS NOT NULL
        AND r.status = 1) AS scores,
       r.updated_at AS changed_at
FROM reviewables AS r
WHERE r.id > :after
) AS found
WHERE CASE WHEN :changed_since < TIMESTAMP '9999-01-01' THEN found.changed_at >= :changed_since ELSE found.scores END
ORDER BY found.key
LIMIT :limit
