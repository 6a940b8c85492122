-- name: user_invited
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- scoreledger, Discourse gamification user_invited: invites redeemed at least once, the
-- quantity is the current redemption_count, dated by the invite's creation.
SELECT inv.id AS key, inv.invited_by_id AS user_id, inv.created_at AS occurred_at, inv.redemption_count AS quantity,
       CAST(NULL AS integer) AS category_id, CAST(NULL AS integer) AS topic_id, CAST(NULL AS integer) AS post_id
FROM invites AS inv
WHERE inv.id > :after
  AND inv.invited_by_id IS NOT NULL
  AND inv.redemption_count > 0
ORDER BY inv.id
LIMIT :limit
