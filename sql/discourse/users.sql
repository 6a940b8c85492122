-- name: users
-- [params]
-- bigint :after = -1000
-- int :limit = 10000
-- datetime :changed_since = 9999-12-31T00:00:00
-- scoreledger, Discourse users: names, and what keeps a user off the plugin's boards
-- (staged, anonymized, anonymous-posting shadows, inactive, suspended).
-- Every user, or with :changed_since before 9999, the users the forum updated since then
-- (Discourse sets updated_at whenever it saves a user: a new username or name among them).
-- One pass over users: Discourse indexes no users.updated_at.
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
