-- name: stored_leaderboard_scores
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- date :before = 9999-12-31
-- bigint :leaderboard_id = 1
-- scoreledger, one leaderboard's stored daily scores (G3) per user, summed over the days
-- before :before: what a recalculation from :before leaves as it is.
SELECT s.user_id AS key, SUM(s.score) AS points
FROM gamification_leaderboard_scores AS s
WHERE s.leaderboard_id = :leaderboard_id AND s.date < :before AND s.user_id > :after
GROUP BY s.user_id
ORDER BY s.user_id
LIMIT :limit
