-- name: like_received
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- datetime :changed_since = 9999-12-31T00:00:00
-- scoreledger, Discourse gamification like_received: likes (post_actions type 2) on posts not
-- deleted, not wiki, outside private messages. As in the plugin, the like's own deleted_at
-- and the topic's deleted_at are not checked: an un-liked like still scores.
-- Rows scoring now (`scores`), or with :changed_since before 9999, every row changed since
-- then whether it scores or not (`changed_at`: the latest time the forum wrote to it).
-- Each row also names the like's giver and whether like_given scores it (`giver_id`,
-- `giver_scores`), so that a later import reads the changed likes once for both.
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
-- Changed rows: the likes on changed posts and on the posts of changed topics (Discourse's
-- index on post_actions.post_id), and the likes created since (read from the top of the id
-- range, an hour's margin down, where a like that committed late is). A like's own row
-- changes nothing scored but its user, which only a merge changes (the users gone from the
-- forum find it).
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
