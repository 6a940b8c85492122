-- name: setting_changes
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- scoreledger, Discourse staff log: changes of the gamification point values and scorable
-- categories (user_histories action 3, change_site_setting).
SELECT h.id AS key, h.subject, h.previous_value, h.new_value, h.created_at, h.details, h.context,
       u.username AS acting_username
FROM user_histories AS h
LEFT JOIN users AS u ON u.id = h.acting_user_id
WHERE h.id > :after
  AND h.action = 3
  AND (h.subject LIKE '%\_score\_value' OR h.subject = 'scorable_categories')
ORDER BY h.id
LIMIT :limit
