-- The Discourse tables the gamification plugin reads, with the columns it reads plus a few
-- of their neighbours. Real rows are wider (posts carry raw and cooked text of a few KB),
-- so scans here are cheaper than on a real forum: the plugin-style timing is a lower bound.
CREATE TABLE users (
    id bigint PRIMARY KEY,
    username text NOT NULL,
    name text,
    active boolean NOT NULL DEFAULT true,
    staged boolean NOT NULL DEFAULT false,
    trust_level integer NOT NULL DEFAULT 1,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE topics (
    id bigint PRIMARY KEY,
    title text NOT NULL,
    user_id bigint,
    category_id bigint,
    archetype text NOT NULL DEFAULT 'regular',
    posts_count integer NOT NULL DEFAULT 0,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL,
    deleted_at timestamp
);
CREATE TABLE posts (
    id bigint PRIMARY KEY,
    topic_id bigint NOT NULL,
    user_id bigint,
    post_number integer NOT NULL,
    raw text NOT NULL,
    like_count integer NOT NULL DEFAULT 0,
    wiki boolean NOT NULL DEFAULT false,
    post_type integer NOT NULL DEFAULT 1,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL,
    deleted_at timestamp
);
CREATE TABLE post_actions (
    id bigint PRIMARY KEY,
    post_id bigint NOT NULL,
    user_id bigint NOT NULL,
    post_action_type_id integer NOT NULL,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL,
    deleted_at timestamp
);
CREATE TABLE user_visits (
    id bigint PRIMARY KEY,
    user_id bigint NOT NULL,
    visited_at date NOT NULL,
    posts_read integer DEFAULT 0,
    mobile boolean DEFAULT false,
    time_read integer NOT NULL DEFAULT 0
);
CREATE TABLE topic_custom_fields (
    id bigint PRIMARY KEY,
    topic_id bigint NOT NULL,
    name varchar(256) NOT NULL,
    value text,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE reviewables (
    id bigint PRIMARY KEY,
    type varchar NOT NULL,
    status integer NOT NULL DEFAULT 0,
    created_by_id bigint NOT NULL,
    target_id bigint,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE invites (
    id bigint PRIMARY KEY,
    invited_by_id bigint NOT NULL,
    redemption_count integer NOT NULL DEFAULT 0,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE gamification_scores (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL,
    date date NOT NULL,
    score integer NOT NULL
);
