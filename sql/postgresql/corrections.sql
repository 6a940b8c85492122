-- PostgreSQL forms of the corrections scratch tables (see sql/corrections.sql): they drop
-- themselves at commit, as replay's do.

-- name: create_replay_user_targets
CREATE TEMP TABLE IF NOT EXISTS replay_user_targets (
    user_id BIGINT PRIMARY KEY,
    target BIGINT NOT NULL
) ON COMMIT DROP

-- name: create_replay_members
CREATE TEMP TABLE IF NOT EXISTS replay_members (
    user_id BIGINT NOT NULL,
    day DATE NOT NULL
) ON COMMIT DROP

-- name: create_replay_overlay
CREATE TEMP TABLE IF NOT EXISTS replay_overlay (
    user_id BIGINT NOT NULL,
    day DATE NOT NULL,
    points BIGINT NOT NULL
) ON COMMIT DROP

-- name: correction_attributes_json
CAST(t.attributes AS JSON)
