-- Discourse's own indexes on the tables above (the ones relevant here, as the schema
-- annotations of its models list them; none of our own), built after the bulk load as a
-- restore would.
CREATE UNIQUE INDEX index_posts_on_topic_id_and_post_number ON posts (topic_id, post_number);
CREATE INDEX idx_posts_user_id_deleted_at ON posts (user_id) WHERE deleted_at IS NULL;
CREATE INDEX index_posts_on_user_id_and_created_at ON posts (user_id, created_at);
CREATE INDEX idx_posts_created_at_topic_id ON posts (created_at, topic_id) WHERE deleted_at IS NULL;
CREATE INDEX index_posts_user_and_likes ON posts (user_id, like_count DESC, created_at DESC) WHERE post_number > 1;
CREATE INDEX index_topics_on_user_id ON topics (user_id);
CREATE INDEX index_post_actions_on_post_id ON post_actions (post_id);
CREATE INDEX index_post_actions_on_user_id_and_post_action_type_id ON post_actions (user_id, post_action_type_id);
CREATE UNIQUE INDEX index_user_visits_on_user_id_and_visited_at ON user_visits (user_id, visited_at);
CREATE INDEX index_user_visits_on_user_id_and_visited_at_and_time_read ON user_visits (user_id, visited_at, time_read);
CREATE INDEX index_user_visits_on_visited_at_and_mobile ON user_visits (visited_at, mobile);
CREATE INDEX index_topic_custom_fields_on_topic_id_and_name ON topic_custom_fields (topic_id, name);
CREATE INDEX index_reviewables_on_status_and_created_at ON reviewables (status, created_at);
CREATE INDEX index_invites_on_invited_by_id ON invites (invited_by_id);
CREATE UNIQUE INDEX index_gamification_scores_on_user_id_and_date ON gamification_scores (user_id, date);
CREATE INDEX index_gamification_scores_on_date ON gamification_scores (date);
ANALYZE;
