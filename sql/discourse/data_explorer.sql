-- name: data_explorer
-- [params]
-- string :scorable = forum_shape
-- bigint :after = 0
-- int :limit = 10000
-- datetime :changed_since = 9999-12-31T00:00:00
-- date :before = 9999-12-31
-- bigint :leaderboard_id = 1
-- scoreledger, Discourse import through Data Explorer: the rows of one shipped query
-- (:scorable names it: a scorable such as post_created, or users, user_id_runs, forum_shape,
-- score_events, site_settings, setting_changes, leaderboards, stored_scores,
-- stored_leaderboard_scores),
-- keyed above :after, at most :limit, as `key` and `row` (the row as JSON). Paste this whole
-- text as one query.
SELECT everything.key, everything.row FROM (
(SELECT 0 AS key, CAST(row_to_json(q) AS text) AS row FROM (
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
) AS q
WHERE :scorable = 'forum_shape')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
SELECT u.id AS key, u.username, u.name, u.active, u.staged,
       (u.suspended_till IS NOT NULL AND u.suspended_till >= CURRENT_TIMESTAMP) AS suspended,
       EXISTS (SELECT 1 FROM user_emails AS e WHERE e.user_id = u.id AND e."primary"
               AND e.email LIKE '%@anonymized.invalid%') AS anonymized,
       EXISTS (SELECT 1 FROM anonymous_users AS a WHERE a.user_id = u.id) AS anonymous_shadow
FROM users AS u
WHERE u.id > :after
  AND (:changed_since >= TIMESTAMP '9999-01-01' OR u.updated_at >= :changed_since)
ORDER BY u.id
LIMIT :limit
) AS q
WHERE :scorable = 'users')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
SELECT runs.first_id AS key, runs.last_id FROM (
SELECT min(numbered.id) AS first_id, max(numbered.id) AS last_id
FROM (SELECT u.id, u.id - row_number() OVER (ORDER BY u.id) AS run FROM users AS u) AS numbered
GROUP BY numbered.run
) AS runs
WHERE runs.first_id > :after
ORDER BY runs.first_id
LIMIT :limit
) AS q
WHERE :scorable = 'user_id_runs')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
SELECT e.id AS key, e.user_id, e.date, e.points, e.description
FROM gamification_score_events AS e
WHERE e.id > :after
ORDER BY e.id
LIMIT :limit
) AS q
WHERE :scorable = 'score_events')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
SELECT s.id AS key, s.name, s.value
FROM site_settings AS s
WHERE s.id > :after
  AND (s.name LIKE '%\_score\_value' OR s.name IN ('scorable_categories', 'chat_enabled', 'solved_enabled', 'discourse_reactions_enabled'))
ORDER BY s.id
LIMIT :limit
) AS q
WHERE :scorable = 'site_settings')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
SELECT h.id AS key, h.subject, h.previous_value, h.new_value, h.created_at, h.details, h.context,
       u.username AS acting_username
FROM user_histories AS h
LEFT JOIN users AS u ON u.id = h.acting_user_id
WHERE h.id > :after
  AND h.action = 3
  AND (h.subject LIKE '%\_score\_value' OR h.subject = 'scorable_categories')
ORDER BY h.id
LIMIT :limit
) AS q
WHERE :scorable = 'setting_changes')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
SELECT lb.id AS key, lb.name, CAST(lb.score_overrides AS text) AS score_overrides,
       array_to_string(lb.scorable_category_ids, '|') AS scorable_category_ids,
       lb.scorable_category_ids IS NULL AS categories_from_site
FROM gamification_leaderboards AS lb
WHERE lb.id > :after
ORDER BY lb.id
LIMIT :limit
) AS q
WHERE :scorable = 'leaderboards')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
SELECT s.user_id AS key, SUM(s.score) AS points
FROM gamification_scores AS s
WHERE s.date < :before AND s.user_id > :after
GROUP BY s.user_id
ORDER BY s.user_id
LIMIT :limit
) AS q
WHERE :scorable = 'stored_scores')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
SELECT s.user_id AS key, SUM(s.score) AS points
FROM gamification_leaderboard_scores AS s
WHERE s.leaderboard_id = :leaderboard_id AND s.date < :before AND s.user_id > :after
GROUP BY s.user_id
ORDER BY s.user_id
LIMIT :limit
) AS q
WHERE :scorable = 'stored_leaderboard_scores')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
SELECT found.* FROM (
SELECT uv.id AS key, uv.user_id, CAST(uv.visited_at AS timestamp) AS occurred_at, 1 AS quantity,
       CAST(NULL AS integer) AS category_id, CAST(NULL AS integer) AS topic_id, CAST(NULL AS integer) AS post_id,
       TRUE AS scores,
       CAST(uv.visited_at AS timestamp) + INTERVAL '2 days' AS changed_at
FROM user_visits AS uv
WHERE uv.id > :after
  AND (:changed_since >= TIMESTAMP '9999-01-01' OR uv.visited_at >= CAST(:changed_since AS date) - 2)
) AS found
WHERE CASE WHEN :changed_since < TIMESTAMP '9999-01-01' THEN found.changed_at >= :changed_since ELSE found.scores END
ORDER BY found.key
LIMIT :limit
) AS q
WHERE :scorable = 'day_visited')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
SELECT found.* FROM (
SELECT uv.id AS key, uv.user_id, CAST(uv.visited_at AS timestamp) AS occurred_at, uv.time_read AS quantity,
       CAST(NULL AS integer) AS category_id, CAST(NULL AS integer) AS topic_id, CAST(NULL AS integer) AS post_id,
       (uv.time_read >= 60) AS scores,
       CAST(uv.visited_at AS timestamp) + INTERVAL '2 days' AS changed_at
FROM user_visits AS uv
WHERE uv.id > :after
  AND (:changed_since >= TIMESTAMP '9999-01-01' OR uv.visited_at >= CAST(:changed_since AS date) - 2)
) AS found
WHERE CASE WHEN :changed_since < TIMESTAMP '9999-01-01' THEN found.changed_at >= :changed_since ELSE found.scores END
ORDER BY found.key
LIMIT :limit
) AS q
WHERE :scorable = 'time_read')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
SELECT found.* FROM (
SELECT uv.id AS key, uv.user_id, CAST(uv.visited_at AS timestamp) AS occurred_at, uv.posts_read AS quantity,
       CAST(NULL AS integer) AS category_id, CAST(NULL AS integer) AS topic_id, CAST(NULL AS integer) AS post_id,
       (uv.posts_read >= 5) AS scores,
       CAST(uv.visited_at AS timestamp) + INTERVAL '2 days' AS changed_at
FROM user_visits AS uv
WHERE uv.id > :after
  AND (:changed_since >= TIMESTAMP '9999-01-01' OR uv.visited_at >= CAST(:changed_since AS date) - 2)
) AS found
WHERE CASE WHEN :changed_since < TIMESTAMP '9999-01-01' THEN found.changed_at >= :changed_since ELSE found.scores END
ORDER BY found.key
LIMIT :limit
) AS q
WHERE :scorable = 'post_read')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
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
  AND (:changed_since >= TIMESTAMP '9999-01-01'
       OR p.updated_at >= :changed_since OR p.deleted_at >= :changed_since OR p.hidden_at >= :changed_since
       OR p.topic_id IN (SELECT ct.id FROM topics AS ct WHERE (ct.updated_at >= :changed_since OR ct.deleted_at >= :changed_since)))
) AS found
WHERE CASE WHEN :changed_since < TIMESTAMP '9999-01-01' THEN found.changed_at >= :changed_since ELSE found.scores END
ORDER BY found.key
LIMIT :limit
) AS q
WHERE :scorable = 'post_created')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
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
) AS q
WHERE :scorable = 'topic_created')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
SELECT found.* FROM (
SELECT pa.id AS key, p.user_id AS user_id, pa.created_at AS occurred_at, 1 AS quantity,
       t.category_id, p.topic_id, p.id AS post_id,
       (p.user_id IS NOT NULL
        AND p.deleted_at IS NULL
        AND t.archetype <> 'private_message'
        AND p.wiki IS FALSE) AS scores,
       pa.user_id AS giver_id,
       (pa.user_id IS NOT NULL
        AND p.deleted_at IS NULL
        AND t.archetype <> 'private_message'
        AND p.wiki IS FALSE) AS giver_scores,
       GREATEST(pa.updated_at, p.updated_at, p.deleted_at, t.updated_at, t.deleted_at) AS changed_at
FROM (
SELECT every.* FROM post_actions AS every WHERE :changed_since >= TIMESTAMP '9999-01-01'
UNION ALL
SELECT liked.* FROM post_actions AS liked
WHERE :changed_since < TIMESTAMP '9999-01-01'
  AND liked.id IN (
      SELECT on_changed.id FROM post_actions AS on_changed
      WHERE on_changed.post_id IN (
          SELECT cp.id FROM posts AS cp WHERE (cp.updated_at >= :changed_since OR cp.deleted_at >= :changed_since)
          UNION
          SELECT tp.id FROM posts AS tp INNER JOIN topics AS ct ON ct.id = tp.topic_id
          WHERE (ct.updated_at >= :changed_since OR ct.deleted_at >= :changed_since))
      UNION
      SELECT recent.id FROM post_actions AS recent
      WHERE recent.created_at >= :changed_since
        AND recent.id > COALESCE((SELECT max(older.id) FROM post_actions AS older
                                  WHERE older.created_at < CAST(:changed_since AS timestamp) - INTERVAL '1 hour'), 0))
) AS pa
INNER JOIN posts AS p ON p.id = pa.post_id
INNER JOIN topics AS t ON t.id = p.topic_id
WHERE pa.id > :after AND pa.post_action_type_id = 2
) AS found
WHERE CASE WHEN :changed_since < TIMESTAMP '9999-01-01' THEN found.changed_at >= :changed_since ELSE found.scores END
ORDER BY found.key
LIMIT :limit
) AS q
WHERE :scorable = 'like_received')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
SELECT found.* FROM (
SELECT pa.id AS key, pa.user_id AS user_id, pa.created_at AS occurred_at, 1 AS quantity,
       t.category_id, p.topic_id, p.id AS post_id,
       (pa.user_id IS NOT NULL
        AND p.deleted_at IS NULL
        AND t.archetype <> 'private_message'
        AND p.wiki IS FALSE) AS scores,
       GREATEST(pa.updated_at, p.updated_at, p.deleted_at, t.updated_at, t.deleted_at) AS changed_at
FROM (
SELECT every.* FROM post_actions AS every WHERE :changed_since >= TIMESTAMP '9999-01-01'
UNION ALL
SELECT liked.* FROM post_actions AS liked
WHERE :changed_since < TIMESTAMP '9999-01-01'
  AND liked.id IN (
      SELECT on_changed.id FROM post_actions AS on_changed
      WHERE on_changed.post_id IN (
          SELECT cp.id FROM posts AS cp WHERE (cp.updated_at >= :changed_since OR cp.deleted_at >= :changed_since)
          UNION
          SELECT tp.id FROM posts AS tp INNER JOIN topics AS ct ON ct.id = tp.topic_id
          WHERE (ct.updated_at >= :changed_since OR ct.deleted_at >= :changed_since))
      UNION
      SELECT recent.id FROM post_actions AS recent
      WHERE recent.created_at >= :changed_since
        AND recent.id > COALESCE((SELECT max(older.id) FROM post_actions AS older
                                  WHERE older.created_at < CAST(:changed_since AS timestamp) - INTERVAL '1 hour'), 0))
) AS pa
INNER JOIN posts AS p ON p.id = pa.post_id
INNER JOIN topics AS t ON t.id = p.topic_id
WHERE pa.id > :after AND pa.post_action_type_id = 2
) AS found
WHERE CASE WHEN :changed_since < TIMESTAMP '9999-01-01' THEN found.changed_at >= :changed_since ELSE found.scores END
ORDER BY found.key
LIMIT :limit
) AS q
WHERE :scorable = 'like_given')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
SELECT found.* FROM (
SELECT posts.id AS key, posts.user_id, dsst.updated_at AS occurred_at, 1 AS quantity,
       topics.category_id, dsst.topic_id, posts.id AS post_id,
       (posts.user_id IS NOT NULL
        AND posts.deleted_at IS NULL
        AND topics.deleted_at IS NULL
        AND topics.archetype <> 'private_message'
        AND posts.user_id <> topics.user_id) AS scores,
       GREATEST(dsst.updated_at, posts.updated_at, posts.deleted_at, topics.updated_at, topics.deleted_at) AS changed_at
FROM discourse_solved_solved_topics AS dsst
INNER JOIN topics ON topics.id = dsst.topic_id
INNER JOIN posts ON posts.id = dsst.answer_post_id
WHERE posts.id > :after
) AS found
WHERE CASE WHEN :changed_since < TIMESTAMP '9999-01-01' THEN found.changed_at >= :changed_since ELSE found.scores END
ORDER BY found.key
LIMIT :limit
) AS q
WHERE :scorable = 'solution')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
SELECT found.* FROM (
SELECT dsta.id AS key, posts.user_id, dsta.created_at AS occurred_at, 1 AS quantity,
       topics.category_id, dsst.topic_id, posts.id AS post_id,
       (posts.user_id IS NOT NULL
        AND posts.deleted_at IS NULL
        AND topics.deleted_at IS NULL
        AND topics.archetype <> 'private_message'
        AND posts.user_id <> topics.user_id) AS scores,
       GREATEST(dsta.updated_at, dsst.updated_at, posts.updated_at, posts.deleted_at, topics.updated_at, topics.deleted_at) AS changed_at
FROM discourse_solved_topic_answers AS dsta
INNER JOIN discourse_solved_solved_topics AS dsst ON dsst.id = dsta.solved_topic_id
INNER JOIN topics ON topics.id = dsst.topic_id
INNER JOIN posts ON posts.id = dsta.answer_post_id
WHERE dsta.id > :after
) AS found
WHERE CASE WHEN :changed_since < TIMESTAMP '9999-01-01' THEN found.changed_at >= :changed_since ELSE found.scores END
ORDER BY found.key
LIMIT :limit
) AS q
WHERE :scorable = 'solution_answers')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
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
) AS q
WHERE :scorable = 'flag_created')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
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
) AS q
WHERE :scorable = 'user_invited')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
SELECT found.* FROM (
SELECT reactions.id AS key, p.user_id, reactions.created_at AS occurred_at, 1 AS quantity,
       t.category_id, p.topic_id, p.id AS post_id,
       (p.user_id IS NOT NULL
        AND p.deleted_at IS NULL
        AND t.archetype <> 'private_message'
        AND p.wiki IS FALSE) AS scores,
       GREATEST(reactions.updated_at, p.updated_at, p.deleted_at, t.updated_at, t.deleted_at) AS changed_at
FROM discourse_reactions_reaction_users AS reactions
INNER JOIN posts AS p ON p.id = reactions.post_id
INNER JOIN topics AS t ON t.id = p.topic_id
WHERE reactions.id > :after
) AS found
WHERE CASE WHEN :changed_since < TIMESTAMP '9999-01-01' THEN found.changed_at >= :changed_since ELSE found.scores END
ORDER BY found.key
LIMIT :limit
) AS q
WHERE :scorable = 'reaction_received')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
SELECT found.* FROM (
SELECT reactions.id AS key, reactions.user_id, reactions.created_at AS occurred_at, 1 AS quantity,
       t.category_id, p.topic_id, p.id AS post_id,
       (reactions.user_id IS NOT NULL
        AND p.deleted_at IS NULL
        AND t.deleted_at IS NULL
        AND p.wiki IS FALSE) AS scores,
       GREATEST(reactions.updated_at, p.updated_at, p.deleted_at, t.updated_at, t.deleted_at) AS changed_at
FROM discourse_reactions_reaction_users AS reactions
INNER JOIN posts AS p ON p.id = reactions.post_id
INNER JOIN topics AS t ON t.id = p.topic_id
WHERE reactions.id > :after
) AS found
WHERE CASE WHEN :changed_since < TIMESTAMP '9999-01-01' THEN found.changed_at >= :changed_since ELSE found.scores END
ORDER BY found.key
LIMIT :limit
) AS q
WHERE :scorable = 'reaction_given')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
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
) AS q
WHERE :scorable = 'chat_message_created')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
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
) AS q
WHERE :scorable = 'chat_reaction_received')
UNION ALL
(SELECT CAST(q.key AS bigint) AS key, CAST(row_to_json(q) AS text) AS row FROM (
SELECT found.* FROM (
SELECT reactions.id AS key, reactions.user_id AS user_id, reactions.created_at AS occurred_at, 1 AS quantity,
       CAST(NULL AS integer) AS category_id, CAST(NULL AS integer) AS topic_id, CAST(NULL AS integer) AS post_id,
       (reactions.user_id IS NOT NULL
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
) AS q
WHERE :scorable = 'chat_reaction_given')
) AS everything
ORDER BY everything.key
