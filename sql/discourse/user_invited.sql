-- name: user_invited
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- datetime :changed_since = 9999-12-31T00:00:00
-- scoreledger, Discourse gamification user_invited: invites redeemed at least once, the
-- quantity is the current redemption_count, dated by the invite's creation.
-- Rows scoring now (`scores`), or with :changed_since before 9999, every row changed since
-- then whether it scores or not (`changed_at`: the latest time the forum wrote to it).
SELECT found.* FROM (
SELECT inv.id AS key, inv.invited_by_id AS user_id, inv.created_at AS occurred_at, inv.redemption_count AS quantity,
       CAST(NULL AS integer) AS category_id, CAST(NULL AS integer) AS topic_id, CAST(NULL AS integer) AS post_id,
       (inv.invited_by_id IS NOT NULL
        AND inv.redemption_count > 0) AS scores,
       GREATEST(inv.updated_at, inv.deleted_at) AS changed_at
FROM invites AS inv
WHERE inv.id > :after
) AS found
WHERE CASE WHEN :changed_since < TIMESTAMP '9999-01-01' THEN found.changed_at >= :changed_since ELSE found.scores END
ORDER BY found.key
LIMIT :limit
