-- name: leaderboards
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- scoreledger, Discourse gamification leaderboards with their own point values and
-- categories (per-leaderboard scoring).
SELECT lb.id AS key, lb.name, CAST(lb.score_overrides AS text) AS score_overrides,
       array_to_string(lb.scorable_category_ids, '|') AS scorable_category_ids,
       lb.scorable_category_ids IS NULL AS categories_from_site
FROM gamification_leaderboards AS lb
WHERE lb.id > :after
ORDER BY lb.id
LIMIT :limit
