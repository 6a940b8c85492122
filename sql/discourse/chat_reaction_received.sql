-- name: chat_reaction_received
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- datetime :changed_since = 9999-12-31T00:00:00
-- scoreledger, Discourse gamification chat_reaction_received: reactions on others' chat
-- messages (message and channel not deleted), credited to the message's author.
-- Rows scoring now (`scores`), or with :changed_since before 9999, every row changed since
-- then whether it scores or not (`changed_at`: the latest time the forum wrote to it).
SELECT found.* FROM (
SELECT reactions.id AS key, cm.user_id AS user_id, reactions.created_at AS occurred_at, 1 AS quantity,
       CAST(NULL AS integer) AS category_id, CAST(NULL AS integer) AS topic_id, CAST(NULL AS integer) AS post_id,
       (cm.user_id IS NOT NULL
        AND cc.deleted_at IS NULL
        AND cm.deleted_at IS NULL
        AND cm.user_id <> reactions.user_id) AS scores,
       GREATEST(reactions.updated_at, cm.updated_at, cm.deleted_at, cc.updated_at, cc.deleted_at) AS changed_at
FROM chat_message_reactions AS reactions
INNER JOIN chat_messages AS cm ON cm.id = reactions.chat_message_id
INNER JOIN chat_channels AS cc ON cc.id = cm.chat_channel_id
WHERE reactions.id > :after
) AS found
WHERE CASE WHEN :changed_since < TIMESTAMP '9999-01-01' THEN found.changed_at >= :changed_since ELSE found.scores END
ORDER BY found.key
LIMIT :limit
