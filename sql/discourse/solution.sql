-- name: solution
-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- datetime :changed_since = 9999-12-31T00:00:00
-- scoreledger, Discourse gamification solution (one answer per topic): the solved-topic row,
-- dated by its updated_at: answer and topic not deleted, not a private message, the answer's
-- author is not the topic's. Keyed by the answer post, so accepting another answer retracts
-- the old key and adds a new one (a topic has one solved row, so an answer post keys one row).
-- Rows scoring now (`scores`), or with :changed_since before 9999, every row changed since
-- then whether it scores or not (`changed_at`: the latest time the forum wrote to it).
SELECT found.* FROM (
SELECT posts.id AS key, posts.user_id, dsst.updated_at AS occurred_at, 1 AS quantity,
       topics.category_id, dsst.topic_id, posts.id AS post_id,
       (posts.user_id IS NOT NULL
        AND posts.deleted_at IS NULL
        AND topics.deleted_at IS NULL
        AND topics.archetype <> 'private_message'
        AND posts.user_id <> topics.user_id) AS scores,
       GREATEST(dsst.updated_at, posts.updated_at, posts.deleted_at, topics.updated_at, topics.deleted_at) AS changed_at
FROM discourse_solved_solved_topics AS dsst
INNER JOIN topics ON topics.id = dsst.topic_id
INNER JOIN posts ON posts.id = dsst.answer_post_id
WHERE posts.id > :after
) AS found
WHERE CASE WHEN :changed_since < TIMESTAMP '9999-01-01' THEN found.changed_at >= :changed_since ELSE found.scores END
ORDER BY found.key
LIMIT :limit
