-- PostgreSQL forms of the corrections scratch tables (see sql/corrections.sql): they drop
-- themselves at commit, as replay's do.

-- name: create_replay_user_targets
CREATE TEMP TABLE IF NOT EXISTS replay_user_targets (
    user_id BIGINT PRIMARY KEY,
    target BIGINT NOT NULL
) ON COMMIT DROP

-- name: create_replay_shifted
CREATE TEMP TABLE IF NOT EXISTS replay_shifted (
    user_id BIGINT NOT NULL,
    day DATE NOT NULL
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

-- name: create_replay_correction_buckets
CREATE TEMP TABLE IF NOT EXISTS replay_correction_buckets (
    user_id BIGINT NOT NULL,
    action_day DATE NOT NULL,
    action VARCHAR(100) NOT NULL,
    version_seq BIGINT,
    value BIGINT,
    per BIGINT,
    min_quantity BIGINT,
    by_attribute VARCHAR(100),
    first_counted BIGINT,
    gated INTEGER NOT NULL
) ON COMMIT DROP

-- name: correction_attributes_json
CAST(t.attributes AS JSON)
