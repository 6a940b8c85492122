-- name: chat_message_created
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- scoreledger, Discourse gamification chat_message_created: chat messages not deleted,
-- except in direct-message channels with fewer than two distinct members (self-DMs).
SELECT m.id AS key, m.user_id, m.created_at AS occurred_at, 1 AS quantity,
       CAST(NULL AS integer) AS category_id, CAST(NULL AS integer) AS topic_id, CAST(NULL AS integer) AS post_id
FROM chat_messages AS m
INNER JOIN chat_channels AS c ON c.id = m.chat_channel_id
WHERE m.id > :after
  AND m.user_id IS NOT NULL
  AND m.deleted_at IS NULL
  AND (c.chatable_type <> 'DirectMessage'
       OR (SELECT COUNT(DISTINCT dmu.user_id) FROM direct_message_users AS dmu
           WHERE dmu.direct_message_channel_id = c.chatable_id) > 1)
ORDER BY m.id
LIMIT :limit
