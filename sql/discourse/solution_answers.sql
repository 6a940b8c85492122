-- name: solution_answers
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- scoreledger, Discourse gamification solution (several answers per topic): each accepted
-- answer row, dated by its created_at, same filters as one answer per topic.
SELECT dsta.id AS key, posts.user_id, dsta.created_at AS occurred_at, 1 AS quantity,
       topics.category_id, dsst.topic_id, posts.id AS post_id
FROM discourse_solved_topic_answers AS dsta
INNER JOIN discourse_solved_solved_topics AS dsst ON dsst.id = dsta.solved_topic_id
INNER JOIN topics ON topics.id = dsst.topic_id
INNER JOIN posts ON posts.id = dsta.answer_post_id
WHERE dsta.id > :after
  AND posts.user_id IS NOT NULL
  AND posts.deleted_at IS NULL
  AND topics.deleted_at IS NULL
  AND topics.archetype <> 'private_message'
  AND posts.user_id <> topics.user_id
ORDER BY dsta.id
LIMIT :limit
