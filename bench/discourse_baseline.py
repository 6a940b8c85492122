"""The comparison: the same community in Discourse-shaped tables, scored plugin-style.

`load_forum` writes a `Community`'s facts, as its `Corrections` left them (deleted posts,
grown visits, score events, merged users' rows under their targets), into the tables the
Discourse gamification plugin reads (users, topics, posts, post_actions, user_visits,
topic_custom_fields, reviewables, invites, gamification_score_events) by COPY, then builds
Discourse's indexes. `plugin_recalculate` is the plugin's full
recalculation: delete the daily scores, re-derive every (user, day) from the forum tables at
one set of values, and upsert them (bench/sql/plugin_*.sql).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import cast

import psycopg

from bench.corrections import Corrections
from bench.generator import Clock, Community, Facts

SQL = Path(__file__).with_name("sql")
# The plugin's rake task recalculates from the day the plugin was first released.
PLUGIN_EPOCH = date(2014, 8, 26)
LIKE = 2  # Discourse's post_action_type_id for a like
AGREED = 1  # Reviewable status "approved"
COPY_BUFFER_ROWS = 100_000
# Posts baked at the version Discourse's own index_for_rebake_old counts as current (2), and
# the number of words in the posts' raw text.
BAKED_VERSION = 2
POST_WORDS = 5


def sql_file(name: str) -> str:
    return (SQL / name).read_text(encoding="utf-8")


def load_forum(url: str, community: Community, corrections: Corrections) -> dict[str, int]:
    """Create the forum tables in the (empty) database at `url` and fill them with the
    community as `corrections` left it. Returns row counts."""
    clock = Clock()
    counts: dict[str, int] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql_file("discourse_schema.sql"))
        conn.execute("SET maintenance_work_mem = '512MB'")
        for table, columns, lines in _tables(community, corrections, clock):
            counts[table] = _copy(conn, table, columns, lines)
        conn.execute(sql_file("discourse_indexes.sql"))
    return counts


def plugin_recalculate(url: str, values: dict[str, int]) -> int:
    """The plugin's full recalculation at `values` (one value per action type), in one
    transaction as the plugin's job runs it. Returns the number of daily score rows."""
    params = {**values, "since": PLUGIN_EPOCH}
    with psycopg.connect(url) as conn:
        with conn.transaction():
            conn.execute(_psycopg_params(sql_file("plugin_clear_scores.sql")), params)
            conn.execute(_psycopg_params(sql_file("plugin_calculate_scores.sql")), params)
        row = conn.execute("SELECT count(*) FROM gamification_scores").fetchone()
        assert row is not None  # count(*) gives one row
        return row[0]


def settle_between_runs(url: str) -> None:
    """What autovacuum does between two of the plugin's runs: clear the dead rows the last
    run's delete left in gamification_scores and its indexes. (It matters little: what slows
    the later runs is deleting the previous run's scores, which the first run, on an empty
    table, does not have to.)"""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) gamification_scores")


def _psycopg_params(sql: str) -> str:
    """`:name` placeholders (as the file runs in psql with \\set) in psycopg's `%(name)s`."""
    return re.sub(r"(?<!:):([a-z_]+)\b", r"%(\1)s", sql)


def _copy(conn: psycopg.Connection, table: str, columns: str, lines: Iterator[str]) -> int:
    count = 0
    with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        buffer: list[str] = []
        for line in lines:
            buffer.append(line)
            if len(buffer) >= COPY_BUFFER_ROWS:
                copy.write("".join(buffer))
                count += len(buffer)
                buffer.clear()
        copy.write("".join(buffer))
        count += len(buffer)
    return count


def _tables(c: Community, corrections: Corrections, clock: Clock) -> Iterator[tuple[str, str, Iterator[str]]]:
    text = clock.text
    merged = corrections.merge_targets
    deleted = corrections.deleted_posts

    def owner(user: int) -> int:
        return merged.get(user, user)

    yield (
        "users",
        "id, username, name, created_at, updated_at",
        (f"{user}\tuser{user}\tUser {user}\t{text(day, 0)}\t{text(day, 0)}\n" for user, day in enumerate(c.join_day, start=1)),
    )
    posts_per_topic = [0] * (len(c.topics) + 1)
    for topic in c.post_topic:
        posts_per_topic[topic] += 1
    yield (
        "topics",
        "id, title, user_id, category_id, posts_count, created_at, updated_at",
        (
            f"{topic}\tTopic {topic}\t{owner(user)}\t{topic % 20 + 1}\t{posts_per_topic[topic]}\t{text(day, second)}\t{text(day, second)}\n"
            for topic, (user, day, second) in enumerate(_when(c.topics), start=1)
        ),
    )
    like_count = [0] * (len(c.posts) + 1)
    for post in c.like_post:
        like_count[post] += 1
    post_number = [0] * (len(c.topics) + 1)

    def posts() -> Iterator[str]:
        for post, (user, day, second) in enumerate(_when(c.posts), start=1):
            topic = c.post_topic[post - 1]
            post_number[topic] += 1
            stamp = text(day, second)
            raw = f"Post {post} in topic {topic}"
            # As Discourse stores a post: its HTML (cooked), when it was last versioned and
            # baked, its word count and place in the topic; the other columns keep their defaults.
            deleted_at = text(*deleted[post]) if post in deleted else "\\N"
            yield (
                f"{post}\t{topic}\t{owner(user)}\t{post_number[topic]}\t{raw}\t<p>{raw}</p>\t{like_count[post]}\t"
                f"{stamp}\t{stamp}\t{stamp}\t{stamp}\t{BAKED_VERSION}\t{POST_WORDS}\t{post_number[topic]}\t{deleted_at}\n"
            )

    yield (
        "posts",
        (
            "id, topic_id, user_id, post_number, raw, cooked, like_count, created_at, updated_at, "
            "last_version_at, baked_at, baked_version, word_count, sort_order, deleted_at"
        ),
        posts(),
    )
    yield (
        "post_actions",
        "id, post_id, user_id, post_action_type_id, created_at, updated_at",
        _dated(c.likes, text, lambda like, user: f"{c.like_post[like - 1]}\t{owner(user)}\t{LIKE}"),
    )
    yield "user_visits", "id, user_id, visited_at, posts_read, time_read", _visits(c, corrections, clock)
    yield (
        "topic_custom_fields",
        "id, topic_id, name, value, created_at, updated_at",
        _dated(
            c.solutions,
            text,
            lambda field, _: f"{c.post_topic[c.solution_post[field - 1] - 1]}\taccepted_answer_post_id\t{c.solution_post[field - 1]}",
        ),
    )
    yield (
        "reviewables",
        "id, type, status, created_by_id, created_at, updated_at",
        _dated(c.flags, text, lambda _, user: f"ReviewableFlaggedPost\t{AGREED}\t{owner(user)}"),
    )
    yield (
        "invites",
        "id, invited_by_id, redemption_count, created_at, updated_at",
        _dated(c.invites, text, lambda invite, user: f"{owner(user)}\t{c.invite_redemptions[invite - 1]}"),
    )
    yield "gamification_score_events", "id, user_id, date, points, description, created_at, updated_at", _score_events(corrections)


def _visits(c: Community, corrections: Corrections, clock: Clock) -> Iterator[str]:
    """Visits with their grown reading; a merged user's visit goes to its target, added into
    the target's own visit of that day if there is one (one visit per user and day)."""
    merged = corrections.merge_targets
    targets = set(merged.values())
    posts_read = [0, *c.posts_read]
    time_read = [0, *c.time_read]
    for visit, value in corrections.grown_posts_read.items():
        posts_read[visit] = value
    for visit, value in corrections.grown_time_read.items():
        time_read[visit] = value
    owner = {}  # (target, day) -> the visit that holds it
    for visit, (user, day, _) in enumerate(_when(c.visits), start=1):
        if user in targets:
            owner[(user, day)] = visit
    folded = set()
    for visit, (user, day, _) in enumerate(_when(c.visits), start=1):
        if user in merged and (merged[user], day) in owner:
            into = owner[(merged[user], day)]
            posts_read[into] += posts_read[visit]
            time_read[into] += time_read[visit]
            folded.add(visit)
    for visit, (user, day, _) in enumerate(_when(c.visits), start=1):
        if visit not in folded:
            yield f"{visit}\t{merged.get(user, user)}\t{clock.day_text[day]}\t{posts_read[visit]}\t{time_read[visit]}\n"


def _score_events(corrections: Corrections) -> Iterator[str]:
    """Every counted adjustment as a score event, under its user's merge target."""
    merged = corrections.merge_targets
    for event, adjustment in enumerate(corrections.adjustments, start=1):
        stamp = f"{adjustment.on.isoformat()} 00:00:00"
        # The generated community names its users by integers.
        user_id = cast(int, adjustment.user_id)
        user = merged.get(user_id, user_id)
        yield f"{event}\t{user}\t{adjustment.on.isoformat()}\t{adjustment.points}\t{adjustment.reason}\t{stamp}\t{stamp}\n"


def _dated(facts: Facts, text: Callable[[int, int], str], middle: Callable[[int, int], str]) -> Iterator[str]:
    """COPY lines `id, <middle(id, user)>, created_at, updated_at` for each fact."""
    for row_id, (user, day, second) in enumerate(_when(facts), start=1):
        stamp = text(day, second)
        yield f"{row_id}\t{middle(row_id, user)}\t{stamp}\t{stamp}\n"


def _when(facts: Facts) -> Iterator[tuple[int, int, int]]:
    return zip(facts.user, facts.day, facts.second, strict=True)
