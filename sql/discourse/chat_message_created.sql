-- name: chat_message_created
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- datetime :changed_since = 9999-12-31T00:00:00
-- scoreledger, Discourse gamification chat_message_created: chat messages not deleted,
-- except in direct-message channels with fewer than two distinct members (self-DMs).
-- Rows scoring now (`scores`), or with :changed_since before 9999, every row changed since
-- then whether it scores or not (`changed_at`: the latest time the forum wrote to it).
SELECT found.* FROM (
SELECT m.id AS key, m.user_id, m.created_at AS occurred_at, 1 AS quantity,
       CAST(NULL AS integer) AS category_id, CAST(NULL AS integer) AS topic_id, CAST(NULL AS integer) AS post_id,
       (m.user_id IS NOT NULL
        AND m.deleted_at IS NULL
        AND (c.chatable_type <> 'DirectMessage'
             OR (SELECT COUNT(DISTINCT dmu.user_id) FROM direct_message_users AS dmu
                 WHERE dmu.direct_message_channel_id = c.chatable_id) > 1)) AS scores,
       GREATEST(m.updated_at, m.deleted_at) AS changed_at
FROM chat_messages AS m
INNER JOIN chat_channels AS c ON c.id = m.chat_channel_id
WHERE m.id > :after
) AS found
WHERE CASE WHEN :changed_since < TIMESTAMP '9999-01-01' THEN found.changed_at >= :changed_since ELSE found.scores END
ORDER BY found.key
LIMIT :limit
