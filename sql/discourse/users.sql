-- name: users
-- [params]
-- bigint :after = -1000
-- int :limit = 10000
-- scoreledger, Discourse users: names, and what keeps a user off the plugin's boards
-- (staged, anonymized, anonymous-posting shadows, inactive, suspended).
SELECT u.id AS key, u.username, u.name, u.active, u.staged,
       (u.suspended_till IS NOT NULL AND u.suspended_till >= CURRENT_TIMESTAMP) AS suspended,
       EXISTS (SELECT 1 FROM user_emails AS e WHERE e.user_id = u.id AND e."primary"
               AND e.email LIKE '%@anonymized.invalid%') AS anonymized,
       EXISTS (SELECT 1 FROM anonymous_users AS a WHERE a.user_id = u.id) AS anonymous_shadow
FROM users AS u
WHERE u.id > :after
ORDER BY u.id
LIMIT :limit
