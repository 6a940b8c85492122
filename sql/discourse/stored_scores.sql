-- name: stored_scores
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- date :before = 9999-12-31
-- scoreledger, the gamification plugin's stored daily scores (G1/G2) per user, summed over the
-- days before :before: what a recalculation from :before leaves as it is.
SELECT s.user_id AS key, SUM(s.score) AS points
FROM gamification_scores AS s
WHERE s.date < :before AND s.user_id > :after
GROUP BY s.user_id
ORDER BY s.user_id
LIMIT :limit
