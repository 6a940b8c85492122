-- name: site_settings
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- scoreledger, Discourse site settings the gamification plugin reads (a row exists only
-- for a setting changed from its default).
SELECT s.id AS key, s.name, s.value
FROM site_settings AS s
WHERE s.id > :after
  AND (s.name LIKE '%\_score\_value' OR s.name IN ('scorable_categories', 'chat_enabled', 'solved_enabled', 'discourse_reactions_enabled'))
ORDER BY s.id
LIMIT :limit
