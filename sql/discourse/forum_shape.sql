-- name: forum_shape
-- scoreledger, Discourse: which of the tables the importer reads exist, and the newest core
-- migration (to tell the standalone plugin's forums from bundled ones), and the forum's clock
-- (UTC): a later import reads what changed since then.
SELECT to_regclass('gamification_leaderboard_scores') IS NOT NULL AS gamification_leaderboard_scores,
       to_regclass('gamification_scores') IS NOT NULL AS gamification_scores,
       to_regclass('gamification_score_events') IS NOT NULL AS gamification_score_events,
       to_regclass('discourse_solved_solved_topics') IS NOT NULL AS discourse_solved_solved_topics,
       to_regclass('discourse_solved_topic_answers') IS NOT NULL AS discourse_solved_topic_answers,
       to_regclass('discourse_reactions_reaction_users') IS NOT NULL AS discourse_reactions_reaction_users,
       to_regclass('chat_messages') IS NOT NULL AS chat_messages,
       to_regclass('chat_message_reactions') IS NOT NULL AS chat_message_reactions,
       to_regclass('user_histories') IS NOT NULL AS user_histories,
       (SELECT MAX(version) FROM schema_migrations) AS newest_migration,
       CAST(timezone('UTC', CURRENT_TIMESTAMP) AS timestamp) AS forum_now
