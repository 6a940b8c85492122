"""A Discourse-shaped PostgreSQL database for the importer's tests.

Only the tables and columns the gamification plugin's scorables, its recalculation and the
importer read, with Discourse's names and types, for the three plugin generations:

- G1: the standalone plugin (gamification_scores; solutions dated by the solved-topic row);
- G2: bundled in core (same tables; the recalculation keeps inactive and suspended users out);
- G3: per-leaderboard scoring (gamification_leaderboard_scores, leaderboards' score_overrides
  and scorable_category_ids, several dated answers per solved topic).

`ForumDatabase` creates a database of its own on the server of SCORELEDGER_TEST_DATABASE_URL
and drops it afterwards; `generate_activity` fills it from a seed with every filter's edge.
"""

from __future__ import annotations

import itertools
import os
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

_suffixes = itertools.count()

COMMON_SCHEMA = """
CREATE TABLE users (
    id serial PRIMARY KEY,
    username varchar(60) NOT NULL,
    name varchar,
    active boolean NOT NULL DEFAULT false,
    staged boolean NOT NULL DEFAULT false,
    suspended_till timestamp,
    admin boolean NOT NULL DEFAULT false,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE user_emails (
    id serial PRIMARY KEY,
    user_id integer NOT NULL,
    email varchar(513) NOT NULL,
    "primary" boolean NOT NULL DEFAULT false,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE anonymous_users (
    id serial PRIMARY KEY,
    user_id integer NOT NULL,
    master_user_id integer NOT NULL,
    active boolean NOT NULL,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE categories (
    id serial PRIMARY KEY,
    name varchar(50) NOT NULL,
    parent_category_id integer,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE topics (
    id serial PRIMARY KEY,
    title varchar NOT NULL,
    user_id integer,
    category_id integer,
    archetype varchar NOT NULL DEFAULT 'regular',
    deleted_at timestamp,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE posts (
    id serial PRIMARY KEY,
    user_id integer,
    topic_id integer NOT NULL,
    post_number integer NOT NULL,
    post_type integer NOT NULL DEFAULT 1,
    wiki boolean NOT NULL DEFAULT false,
    hidden boolean NOT NULL DEFAULT false,
    hidden_at timestamp,
    deleted_at timestamp,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE post_actions (
    id serial PRIMARY KEY,
    post_id integer NOT NULL,
    user_id integer NOT NULL,
    post_action_type_id integer NOT NULL,
    deleted_at timestamp,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE user_visits (
    id serial PRIMARY KEY,
    user_id integer NOT NULL,
    visited_at date NOT NULL,
    posts_read integer DEFAULT 0,
    mobile boolean DEFAULT false,
    time_read integer NOT NULL DEFAULT 0,
    UNIQUE (user_id, visited_at)
);
CREATE TABLE reviewables (
    id bigserial PRIMARY KEY,
    type varchar NOT NULL,
    status integer NOT NULL DEFAULT 0,
    created_by_id integer NOT NULL,
    target_id integer,
    topic_id integer,
    category_id integer,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE invites (
    id serial PRIMARY KEY,
    invited_by_id integer NOT NULL,
    redemption_count integer NOT NULL DEFAULT 0,
    deleted_at timestamp,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE discourse_solved_solved_topics (
    id bigserial PRIMARY KEY,
    topic_id integer NOT NULL UNIQUE,
    answer_post_id integer,
    accepter_user_id integer NOT NULL,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE discourse_reactions_reaction_users (
    id bigserial PRIMARY KEY,
    reaction_id integer,
    user_id integer,
    post_id integer,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE chat_channels (
    id bigserial PRIMARY KEY,
    chatable_id bigint NOT NULL,
    chatable_type varchar NOT NULL,
    deleted_at timestamp,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE direct_message_users (
    id bigserial PRIMARY KEY,
    direct_message_channel_id bigint NOT NULL,
    user_id integer NOT NULL,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE chat_messages (
    id bigserial PRIMARY KEY,
    chat_channel_id bigint NOT NULL,
    user_id integer,
    deleted_at timestamp,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE chat_message_reactions (
    id bigserial PRIMARY KEY,
    chat_message_id bigint,
    user_id integer,
    emoji varchar,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
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
CREATE TABLE gamification_score_events (
    id bigserial PRIMARY KEY,
    user_id integer NOT NULL,
    date date NOT NULL,
    points integer NOT NULL,
    description text,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE gamification_scores (
    id bigserial PRIMARY KEY,
    user_id integer NOT NULL,
    date date NOT NULL,
    score integer NOT NULL,
    UNIQUE (user_id, date)
);
CREATE TABLE gamification_leaderboards (
    id bigserial PRIMARY KEY,
    name varchar NOT NULL UNIQUE,
    from_date date,
    to_date date,
    included_groups_ids integer[] NOT NULL DEFAULT '{}',
    excluded_groups_ids integer[] NOT NULL DEFAULT '{}',
    created_by_id integer NOT NULL,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
"""

G3_SCHEMA = """
ALTER TABLE gamification_leaderboards ADD COLUMN score_overrides jsonb;
ALTER TABLE gamification_leaderboards ADD COLUMN scorable_category_ids integer[];
CREATE TABLE gamification_leaderboard_scores (
    id bigserial PRIMARY KEY,
    leaderboard_id integer NOT NULL,
    user_id integer NOT NULL,
    date date NOT NULL,
    score integer NOT NULL DEFAULT 0,
    UNIQUE (leaderboard_id, user_id, date)
);
CREATE TABLE discourse_solved_topic_answers (
    id bigserial PRIMARY KEY,
    solved_topic_id bigint NOT NULL,
    answer_post_id integer NOT NULL,
    accepter_user_id integer NOT NULL,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
"""

# The newest core migration each generation's forum carries (G1: pinned to an older core).
NEWEST_MIGRATION = {"G1": "20250301000000", "G2": "20251015000000", "G3": "20260402141924"}
GENERATIONS = ("G1", "G2", "G3")
START = datetime(2025, 1, 1)


class ForumDatabase:
    """A database `<test db>_forum_<n>` on the test server, created empty and dropped on close."""

    def __init__(self, admin_url: str) -> None:
        url = make_url(admin_url)
        self.name = f"{url.database}_forum_{os.getpid()}_{next(_suffixes)}"
        self._admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.url = url.set(drivername="postgresql", database=self.name).render_as_string(hide_password=False)
        with psycopg.connect(self._admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)

    def drop(self) -> None:
        with psycopg.connect(self._admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))


def create_schema(conn: psycopg.Connection, generation: str) -> None:
    """The tables of `generation`'s forum (G1, G2 or G3)."""
    conn.execute(COMMON_SCHEMA)
    if generation == "G3":
        conn.execute(G3_SCHEMA)
    conn.execute("INSERT INTO schema_migrations VALUES (%s), ('20140101000000')", (NEWEST_MIGRATION[generation],))


@dataclass
class ForumPlan:
    """How much activity to generate, and which settings differ from the plugin's defaults."""

    users: int = 40
    topics: int = 60
    replies_per_topic: int = 5
    days: int = 120
    settings: dict[str, str] = field(default_factory=dict)


@dataclass
class Generated:
    """What the generator made, for tests that edit the forum afterwards."""

    user_ids: list[int]
    category_ids: list[int]
    leaderboard_ids: list[int] = field(default_factory=list)


def _at(rng: random.Random, days: int) -> datetime:
    return START + timedelta(seconds=rng.randrange(days * 86400))


def generate_activity(conn: psycopg.Connection, generation: str, seed: int, plan: ForumPlan | None = None) -> Generated:
    """Fill a forum of `generation` from `seed` with every filter's edge (see module docstring)."""
    plan = plan or ForumPlan()
    rng = random.Random(seed)
    now = START + timedelta(days=plan.days)
    cur = conn.cursor()

    # Users: the system user (-1), and users some of which are staged, inactive, suspended
    # (one whose suspension has ended), anonymized, or the shadow of anonymous posting.
    cur.execute(
        "INSERT INTO users (id, username, name, active, created_at, updated_at) VALUES (-1, 'system', 'system', true, %s, %s)",
        (START, START),
    )
    user_ids: list[int] = []
    for number in range(1, plan.users + 1):
        kind = rng.choice(["plain"] * 6 + ["staged", "inactive", "suspended", "was_suspended", "anonymized", "anonymous"])
        suspended = {"suspended": now + timedelta(days=3650), "was_suspended": START + timedelta(days=1)}.get(kind)
        cur.execute(
            "INSERT INTO users (id, username, name, active, staged, suspended_till, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (number, f"user{number}", f"User {number} ({kind})", kind != "inactive", kind == "staged", suspended, START, START),
        )
        email = f"anon{number}@anonymized.invalid" if kind == "anonymized" else f"user{number}@example.com"
        cur.execute(
            'INSERT INTO user_emails (user_id, email, "primary", created_at, updated_at) VALUES (%s, %s, true, %s, %s)',
            (number, email, START, START),
        )
        if kind == "anonymous" and user_ids:
            cur.execute(
                "INSERT INTO anonymous_users (user_id, master_user_id, active, created_at, updated_at) VALUES (%s, %s, true, %s, %s)",
                (number, user_ids[0], START, START),
            )
        user_ids.append(number)
    users_and_system = user_ids + [-1]

    category_ids = []
    for number in range(1, 6):
        cur.execute(
            "INSERT INTO categories (name, parent_category_id, created_at, updated_at) VALUES (%s, %s, %s, %s) RETURNING id",
            (f"category {number}", 1 if number == 5 else None, START, START),
        )
        category_ids.append(cur.fetchone()[0])

    # Topics and posts: PMs, deleted topics, topics without a category; first posts, every
    # post type (whispers among them), wikis, hidden and deleted posts, posts of deleted users.
    post_ids: list[int] = []
    topics: list[tuple[int, int, str]] = []
    for _ in range(plan.topics):
        author = rng.choice(user_ids)
        created = _at(rng, plan.days - 1)
        archetype = "private_message" if rng.random() < 0.15 else "regular"
        category = None if archetype == "private_message" or rng.random() < 0.05 else rng.choice(category_ids)
        deleted = created + timedelta(hours=2) if rng.random() < 0.1 else None
        cur.execute(
            "INSERT INTO topics (title, user_id, category_id, archetype, deleted_at, created_at, updated_at)"
            " VALUES ('t', %s, %s, %s, %s, %s, %s) RETURNING id",
            (author, category, archetype, deleted, created, created),
        )
        topic_id = cur.fetchone()[0]
        topics.append((topic_id, author, archetype))
        moment = created
        for number in range(1, rng.randint(1, plan.replies_per_topic * 2) + 1):
            poster = author if number == 1 else rng.choice(user_ids + [None] if rng.random() < 0.03 else user_ids)
            post_type = 1 if rng.random() < 0.85 else rng.choice([2, 3, 4])
            cur.execute(
                "INSERT INTO posts (user_id, topic_id, post_number, post_type, wiki, hidden, deleted_at, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (
                    poster,
                    topic_id,
                    number,
                    post_type,
                    rng.random() < 0.05,
                    rng.random() < 0.05,
                    moment + timedelta(hours=1) if rng.random() < 0.07 else None,
                    moment,
                    moment,
                ),
            )
            post_ids.append(cur.fetchone()[0])
            moment = min(moment + timedelta(minutes=rng.randrange(1, 3000)), now - timedelta(seconds=1))

    # Likes (type 2) with un-liked ones (deleted_at set) and like-unlike-like repeats; flags
    # and bookmarks of other types.
    for _ in range(len(post_ids) * 2):
        post_id = rng.choice(post_ids)
        liker = rng.choice(user_ids)
        created = _at(rng, plan.days)
        action_type = 2 if rng.random() < 0.8 else rng.choice([1, 3, 4, 7, 8])
        unliked = created + timedelta(minutes=5) if rng.random() < 0.15 else None
        cur.execute(
            "INSERT INTO post_actions (post_id, user_id, post_action_type_id, deleted_at, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (post_id, liker, action_type, unliked, created, created),
        )
        if unliked and rng.random() < 0.5:
            cur.execute(
                "INSERT INTO post_actions (post_id, user_id, post_action_type_id, created_at, updated_at) VALUES (%s, %s, 2, %s, %s)",
                (post_id, liker, unliked, unliked),
            )

    # Visits: one per user and day; times read and posts read on both sides of the minimums.
    for user_id in user_ids:
        for day in rng.sample(range(plan.days), k=min(plan.days, rng.randint(0, plan.days // 3))):
            cur.execute(
                "INSERT INTO user_visits (user_id, visited_at, posts_read, time_read) VALUES (%s, %s, %s, %s)",
                (
                    user_id,
                    (START + timedelta(days=day)).date(),
                    rng.choice([0, 4, 5, 99, 100, 250]),
                    rng.choice([0, 59, 60, 3599, 3600, 9000]),
                ),
            )

    # Reviewables of every status (pending, approved, rejected, ignored, deleted), some by the
    # system user (queued posts).
    for _ in range(plan.users * 2):
        created = _at(rng, plan.days)
        cur.execute(
            "INSERT INTO reviewables (type, status, created_by_id, created_at, updated_at) VALUES (%s, %s, %s, %s, %s)",
            (
                rng.choice(["ReviewableFlaggedPost", "ReviewableQueuedPost", "ReviewableUser"]),
                rng.randrange(5),
                rng.choice(users_and_system),
                created,
                created + timedelta(days=1),
            ),
        )

    # Invites: never redeemed, redeemed, redeemed again (redemption_count > 1).
    for _ in range(plan.users):
        created = _at(rng, plan.days)
        cur.execute(
            "INSERT INTO invites (invited_by_id, redemption_count, created_at, updated_at) VALUES (%s, %s, %s, %s)",
            (rng.choice(user_ids), rng.choice([0, 0, 1, 1, 2, 3]), created, created + timedelta(days=2)),
        )

    # Solutions: accepted answers by others and by the topic's author (self-accepted); topics
    # that were solved then unaccepted have no row. G3 has several dated answers per topic.
    for topic_id, author, _archetype in topics:
        if rng.random() < 0.4:
            continue
        cur.execute("SELECT id, user_id, created_at FROM posts WHERE topic_id = %s AND post_number > 1 ORDER BY id", (topic_id,))
        answers = cur.fetchall()
        if not answers:
            continue
        answer = rng.choice(answers)
        accepted = min(answer[2] + timedelta(hours=rng.randrange(1, 400)), now - timedelta(seconds=1))
        cur.execute(
            "INSERT INTO discourse_solved_solved_topics (topic_id, answer_post_id, accepter_user_id, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (topic_id, answer[0] if generation != "G3" else None, author, accepted, accepted),
        )
        solved_id = cur.fetchone()[0]
        if generation == "G3":
            for extra in rng.sample(answers, k=rng.randint(1, min(3, len(answers)))):
                at = min(extra[2] + timedelta(hours=rng.randrange(1, 400)), now - timedelta(seconds=1))
                cur.execute(
                    "INSERT INTO discourse_solved_topic_answers (solved_topic_id, answer_post_id, accepter_user_id, created_at, updated_at)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    (solved_id, extra[0], author, at, at),
                )

    # Reactions (discourse-reactions), on every kind of post.
    for _ in range(len(post_ids)):
        created = _at(rng, plan.days)
        cur.execute(
            "INSERT INTO discourse_reactions_reaction_users (reaction_id, user_id, post_id, created_at, updated_at) VALUES (1, %s, %s, %s, %s)",
            (rng.choice(user_ids), rng.choice(post_ids), created, created),
        )

    # Chat: category channels (one deleted), DMs between two users, a self-DM; deleted
    # messages; reactions on others' messages and on one's own.
    channels: list[int] = []
    for number in range(6):
        kind = "Category" if number < 3 else "DirectMessage"
        cur.execute(
            "INSERT INTO chat_channels (chatable_id, chatable_type, deleted_at, created_at, updated_at) VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (100 + number, kind, START if number == 2 else None, START, START),
        )
        channels.append(cur.fetchone()[0])
        if kind == "DirectMessage":
            members = [user_ids[number]] if number == 5 else rng.sample(user_ids, 2)
            for member in members + members[:1]:
                cur.execute(
                    "INSERT INTO direct_message_users (direct_message_channel_id, user_id, created_at, updated_at) VALUES (%s, %s, %s, %s)",
                    (100 + number, member, START, START),
                )
    messages: list[tuple[int, int]] = []
    for _ in range(plan.users * 4):
        created = _at(rng, plan.days)
        author = rng.choice(user_ids)
        cur.execute(
            "INSERT INTO chat_messages (chat_channel_id, user_id, deleted_at, created_at, updated_at) VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (rng.choice(channels), author, created if rng.random() < 0.1 else None, created, created),
        )
        messages.append((cur.fetchone()[0], author))
    for _ in range(plan.users * 4):
        message_id, author = rng.choice(messages)
        created = _at(rng, plan.days)
        cur.execute(
            "INSERT INTO chat_message_reactions (chat_message_id, user_id, emoji, created_at, updated_at) VALUES (%s, %s, 'heart', %s, %s)",
            (message_id, author if rng.random() < 0.2 else rng.choice(user_ids), created, created),
        )

    # Score events from outside systems; staff log rows of other actions and subjects.
    for _ in range(plan.users // 2):
        cur.execute(
            "INSERT INTO gamification_score_events (user_id, date, points, description, created_at, updated_at) VALUES (%s, %s, %s, 'award', %s, %s)",
            (rng.choice(user_ids), _at(rng, plan.days).date(), rng.randint(-5, 50), START, START),
        )
    cur.execute(
        "INSERT INTO user_histories (action, acting_user_id, subject, previous_value, new_value, created_at, updated_at)"
        " VALUES (3, 1, 'title', 'old', 'new', %s, %s), (1, 1, NULL, NULL, NULL, %s, %s)",
        (START, START, START, START),
    )

    settings = {"chat_enabled": "t", "solved_enabled": "t", "discourse_reactions_enabled": "t", **plan.settings}
    for name, value in settings.items():
        set_site_setting(conn, name, value)

    leaderboards = []
    if generation == "G3":
        for name, overrides, categories in (
            ("global", None, None),
            ("helpers", '{"like_received": 5, "solution": 0}', [category_ids[1], category_ids[2]]),
            ("everywhere", '{"post_created": 7}', []),
        ):
            cur.execute(
                "INSERT INTO gamification_leaderboards (name, created_by_id, score_overrides, scorable_category_ids, created_at, updated_at)"
                " VALUES (%s, 1, %s, %s, %s, %s) RETURNING id",
                (name, overrides, categories, START, START),
            )
            leaderboards.append(cur.fetchone()[0])
    else:
        cur.execute(
            "INSERT INTO gamification_leaderboards (name, created_by_id, created_at, updated_at) VALUES ('global', 1, %s, %s) RETURNING id",
            (START, START),
        )
        leaderboards.append(cur.fetchone()[0])
    return Generated(user_ids, category_ids, leaderboards)


def set_site_setting(conn: psycopg.Connection, name: str, value: str) -> None:
    """Store a site setting as Discourse does (a row only for values set)."""
    conn.execute(
        "INSERT INTO site_settings (name, data_type, value, created_at, updated_at) VALUES (%s, 1, %s, %s, %s)"
        " ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
        (name, value, START, START),
    )


def log_setting_change(
    conn: psycopg.Connection, name: str, previous: str, new: str, at: datetime, acting_user_id: int = 1, details: str | None = None
) -> None:
    """Change a site setting through 'the admin page': the value, and a staff log row (action 3)."""
    set_site_setting(conn, name, new)
    conn.execute(
        "INSERT INTO user_histories (action, acting_user_id, subject, previous_value, new_value, details, created_at, updated_at)"
        " VALUES (3, %s, %s, %s, %s, %s, %s, %s)",
        (acting_user_id, name, previous, new, details, at, at),
    )
