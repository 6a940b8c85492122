-- name: chat_reaction_received
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- scoreledger, Discourse gamification chat_reaction_received: reactions on others' chat
-- messages (message and channel not deleted), credited to the message's author.
SELECT reactions.id AS key, cm.user_id AS user_id, reactions.created_at AS occurred_at, 1 AS quantity,
       CAST(NULL AS integer) AS category_id, CAST(NULL AS integer) AS topic_id, CAST(NULL AS integer) AS post_id
FROM chat_message_reactions AS reactions
INNER JOIN chat_messages AS cm ON cm.id = reactions.chat_message_id
INNER JOIN chat_channels AS cc ON cc.id = cm.chat_channel_id
WHERE reactions.id > :after
  AND cm.user_id IS NOT NULL
  AND cc.deleted_at IS NULL
  AND cm.deleted_at IS NULL
  AND cm.user_id <> reactions.user_id
ORDER BY reactions.id
LIMIT :limit
