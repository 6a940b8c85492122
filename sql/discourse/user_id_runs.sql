-- name: user_id_runs
-- [params]
-- bigint :after = -1000
-- int :limit = 10000
-- scoreledger, Discourse users: every user id, as runs of consecutive ids (`key` the first,
-- `last_id` the last), so that a later import learns which users the forum still has (a
-- merge deletes its source user) in a row per gap rather than a row per user.
SELECT runs.first_id AS key, runs.last_id FROM (
SELECT min(numbered.id) AS first_id, max(numbered.id) AS last_id
FROM (SELECT u.id, u.id - row_number() OVER (ORDER BY u.id) AS run FROM users AS u) AS numbered
GROUP BY numbered.run
) AS runs
WHERE runs.first_id > :after
ORDER BY runs.first_id
LIMIT :limit
