-- PostgreSQL forms of sql/platform.sql: scratch tables drop themselves at commit.

-- name: create_replay_changed_rules
CREATE TEMP TABLE IF NOT EXISTS replay_changed_rules (
    day DATE NOT NULL,
    action VARCHAR(100) NOT NULL,
    sign INTEGER NOT NULL,
    version_seq BIGINT NOT NULL,
    value BIGINT NOT NULL,
    per BIGINT,
    min_quantity BIGINT,
    by_attribute VARCHAR(100),
    PRIMARY KEY (day, action, sign)
) ON COMMIT DROP
