-- name: solution_answers
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- datetime :changed_since = 9999-12-31T00:00:00
-- scoreledger, Discourse gamification solution (several answers per topic): each accepted
-- answer row, dated by its created_at, same filters as one answer per topic.
-- Rows scoring now (`scores`), or with :changed_since before 9999, every row changed since
-- then whether it scores or not (`changed_at`: the latest time the forum wrote to it).
SELECT found.* FROM (
SELECT dsta.id AS key, posts.user_id, dsta.created_at AS occurred_at, 1 AS quantity,
       topics.category_id, dsst.topic_id, posts.id AS post_id,
       (posts.user_id IS NOT NULL
        AND posts.deleted_at IS NULL
        AND topics.deleted_at IS NULL
        AND topics.archetype <> 'private_message'
        AND posts.user_id <> topics.user_id) AS scores,
       GREATEST(dsta.updated_at, dsst.updated_at, posts.updated_at, posts.deleted_at, topics.updated_at, topics.deleted_at) AS changed_at
FROM discourse_solved_topic_answers AS dsta
INNER JOIN discourse_solved_solved_topics AS dsst ON dsst.id = dsta.solved_topic_id
INNER JOIN topics ON topics.id = dsst.topic_id
INNER JOIN posts ON posts.id = dsta.answer_post_id
WHERE dsta.id > :after
) AS found
WHERE CASE WHEN :changed_since < TIMESTAMP '9999-01-01' THEN found.changed_at >= :changed_since ELSE found.scores END
ORDER BY found.key
LIMIT :limit
