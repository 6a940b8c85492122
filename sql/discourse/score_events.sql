-- name: score_events
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- scoreledger, Discourse gamification score events (points awarded from outside).
SELECT e.id AS key, e.user_id, e.date, e.points, e.description
FROM gamification_score_events AS e
WHERE e.id > :after
ORDER BY e.id
LIMIT :limit
