-- The Discourse tables the gamification plugin reads. posts and post_actions have every
-- column of Discourse's own (the schema annotations of app/models/post.rb and
-- post_action.rb), so a scan reads rows as wide as a real forum's, except for the text: raw
-- is one short sentence and cooked its HTML, where a real post carries a few hundred bytes
-- to a few KB of each. The other tables carry the columns the plugin reads plus a few of
-- their neighbours. So scans here are still cheaper than on a real forum, and the
-- plugin-style timing is a lower bound.
CREATE TABLE users (
    id bigint PRIMARY KEY,
    username text NOT NULL,
    name text,
    active boolean NOT NULL DEFAULT true,
    staged boolean NOT NULL DEFAULT false,
    suspended_till timestamp,
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
    user_id bigint,
    topic_id bigint NOT NULL,
    post_number integer NOT NULL,
    raw text NOT NULL,
    cooked text NOT NULL,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL,
    reply_to_post_number integer,
    reply_count integer NOT NULL DEFAULT 0,
    quote_count integer NOT NULL DEFAULT 0,
    deleted_at timestamp,
    off_topic_count integer NOT NULL DEFAULT 0,
    like_count integer NOT NULL DEFAULT 0,
    incoming_link_count integer NOT NULL DEFAULT 0,
    bookmark_count integer NOT NULL DEFAULT 0,
    score double precision,
    reads integer NOT NULL DEFAULT 0,
    post_type integer NOT NULL DEFAULT 1,
    sort_order integer,
    last_editor_id integer,
    hidden boolean NOT NULL DEFAULT false,
    hidden_reason_id integer,
    notify_moderators_count integer NOT NULL DEFAULT 0,
    spam_count integer NOT NULL DEFAULT 0,
    illegal_count integer NOT NULL DEFAULT 0,
    inappropriate_count integer NOT NULL DEFAULT 0,
    last_version_at timestamp NOT NULL,
    user_deleted boolean NOT NULL DEFAULT false,
    reply_to_user_id integer,
    percent_rank double precision DEFAULT 1.0,
    notify_user_count integer NOT NULL DEFAULT 0,
    like_score integer NOT NULL DEFAULT 0,
    deleted_by_id integer,
    edit_reason varchar,
    word_count integer,
    version integer NOT NULL DEFAULT 1,
    cook_method integer NOT NULL DEFAULT 1,
    wiki boolean NOT NULL DEFAULT false,
    baked_at timestamp,
    baked_version integer,
    hidden_at timestamp,
    self_edits integer NOT NULL DEFAULT 0,
    reply_quoted boolean NOT NULL DEFAULT false,
    via_email boolean NOT NULL DEFAULT false,
    raw_email text,
    public_version integer NOT NULL DEFAULT 1,
    action_code varchar,
    locked_by_id integer,
    image_upload_id bigint,
    outbound_message_id varchar
);
CREATE TABLE post_actions (
    id bigint PRIMARY KEY,
    post_id bigint NOT NULL,
    user_id bigint NOT NULL,
    post_action_type_id integer NOT NULL,
    deleted_at timestamp,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL,
    deleted_by_id integer,
    related_post_id integer,
    staff_took_action boolean NOT NULL DEFAULT false,
    deferred_by_id integer,
    targets_topic boolean NOT NULL DEFAULT false,
    agreed_at timestamp,
    agreed_by_id integer,
    deferred_at timestamp,
    disagreed_at timestamp,
    disagreed_by_id integer
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
    deleted_at timestamp,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
-- Score events (the plugin's manual and imported points), summed into the daily scores.
CREATE TABLE gamification_score_events (
    id bigint PRIMARY KEY,
    user_id bigint NOT NULL,
    date date NOT NULL,
    points integer NOT NULL,
    description text,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE gamification_scores (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL,
    date date NOT NULL,
    score integer NOT NULL
);
-- What `scoreledger discourse import` also reads (empty here): anonymized users' emails,
-- anonymous-posting shadows, and core's migrations (to tell the plugin's generation).
CREATE TABLE user_emails (
    id serial PRIMARY KEY,
    user_id integer NOT NULL,
    email varchar(513) NOT NULL,
    "primary" boolean NOT NULL DEFAULT false
);
CREATE TABLE anonymous_users (
    id serial PRIMARY KEY,
    user_id integer NOT NULL,
    master_user_id integer NOT NULL
);
CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
-- Site settings and the staff action log: read by schedule-history, and named by the one
-- Data Explorer query the import runs (a branch of it reads each), so present though empty.
CREATE TABLE site_settings (
    id serial PRIMARY KEY,
    name varchar NOT NULL UNIQUE,
    data_type integer NOT NULL,
    value text,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE user_histories (
    id serial PRIMARY KEY,
    action integer NOT NULL,
    acting_user_id integer,
    target_user_id integer,
    details text,
    context varchar,
    subject varchar,
    previous_value text,
    new_value text,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
