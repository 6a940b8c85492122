"""Importing a Discourse forum: with unchanged point values, every user's ledger total equals
the gamification plugin's own recalculated total, user for user, in every plugin generation.

Discourse's own score events count on both sides: the ledger imports them as adjustments.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import datetime

import pytest

from ledger import Ledger
from ledger.discourse import settings as forum_settings
from ledger.discourse.forum import PostgresForum
from ledger.discourse.importer import changes_seen_to, import_forum, import_origin, import_origins, recorded_marks, watermarks
from ledger.discourse.scorables import SCORABLES, ForumShape, detect_shape, key_prefix
from tests import discourse_plugin
from tests.backends import in_ci
from tests.discourse_forum import ForumDatabase, ForumPlan, Generated, create_schema, generate_activity

# Settings the forum stores besides the defaults, per generation: the category filter and a
# changed value, set outside the staff log (so "never changed" as far as history can tell).
PLANS = {
    "G1": ForumPlan(),
    "G2": ForumPlan(settings={"scorable_categories": "2|3", "post_created_score_value": "3"}),
    "G3": ForumPlan(settings={"scorable_categories": "1|4", "like_given_score_value": "2"}),
}


class Forum:
    def __init__(self, database: ForumDatabase, generation: str, generated: Generated) -> None:
        self.database = database
        self.generation = generation
        self.generated = generated
        self.url = database.url


def _admin_url() -> str:
    url = os.environ.get("SCORELEDGER_TEST_DATABASE_URL")
    if not url:
        if in_ci():
            pytest.fail("Discourse import tests need SCORELEDGER_TEST_DATABASE_URL in CI")
        pytest.skip("Discourse import tests need a PostgreSQL server: set SCORELEDGER_TEST_DATABASE_URL")
    return url


def make_forum(generation: str, seed: int = 19, plan: ForumPlan | None = None) -> Iterator[Forum]:
    database = ForumDatabase(_admin_url())
    try:
        with database.connect() as conn:
            create_schema(conn, generation)
            generated = generate_activity(conn, generation, seed, plan or PLANS[generation])
        yield Forum(database, generation, generated)
    finally:
        database.drop()


@pytest.fixture(scope="module", params=["G1", "G2", "G3"])
def forum(request: pytest.FixtureRequest) -> Iterator[Forum]:
    yield from make_forum(request.param)


def plugin_totals(forum: Forum, leaderboard_id: int | None = None, *, include_events: bool = False) -> dict[int, int]:
    with forum.database.connect() as conn:
        discourse_plugin.calculate_scores(conn, forum.generation, include_events=include_events)
        return discourse_plugin.totals(conn, forum.generation, leaderboard_id)


def ledger_totals(book: Ledger) -> dict[int | str, int]:
    return {row.user_id: row.points for row in book.scores() if row.points}


def test_generation_is_detected(forum: Forum) -> None:
    with PostgresForum(forum.url) as source:
        assert detect_shape(source).generation == forum.generation


def test_import_then_history_equals_the_plugin_user_for_user(forum: Forum, book: Ledger) -> None:
    with PostgresForum(forum.url) as source:
        report = import_forum(book, source)
        current = forum_settings.current_values(source)
        changes = forum_settings.setting_changes(source)
        boards = forum_settings.leaderboards(source) if forum.generation == "G3" else [None]
    assert report.shape.generation == forum.generation
    assert not report.skipped
    assert sum(report.added.values()) > 0
    off = {user.user_id for user in report.off_board if {"inactive", "suspended"} & set(user.off_board)}
    if forum.generation == "G1":
        assert not off
    else:
        assert off
    for board in boards:
        ledger = book if board is None else Ledger(book.engine, f"leaderboard-{board.leaderboard_id}")
        if board is not None:
            assert import_forum(ledger, PostgresForum(forum.url)).added == report.added
        ledger.record_schedule(forum_settings.history(current, changes, board), retroactive=True)
        expected = plugin_totals(forum, None if board is None else board.leaderboard_id, include_events=True)
        got = ledger_totals(ledger)
        assert expected, "the forum scored nobody"
        assert report.score_events and len(ledger.adjustments(kind="imported")) == len(report.score_events)
        # The plugin leaves inactive and suspended users out (G2, G3); the ledger keeps their
        # actions and the import marks them.
        assert {user: points for user, points in got.items() if user not in off} == expected
        assert not off & set(expected)


def test_running_again_with_nothing_new_writes_nothing(forum: Forum, book: Ledger) -> None:
    with PostgresForum(forum.url) as source:
        first = import_forum(book, source)
        head = book.digest()
        # The forum's usernames and names label the ledger's users (recorded once).
        named = {user: (names.username, names.name) for user, names in book.user_names().items()}
        assert named == {user.user_id: (user.username, user.name or None) for user in first.users.values()}
        again = import_forum(book, source)
        full = import_forum(book, source, full=True)
    assert first.batch_id is not None
    # Only rows above the watermarks count as found; rows changed since the last run are read again.
    assert again.batch_id is None and not again.added and not again.corrections and not again.full
    assert sum(again.found.values()) == 0
    assert full.batch_id is None and not full.added and not full.changed and not full.corrections and not full.merges
    assert not again.adjustments and not full.adjustments
    assert full.found == first.found
    after = book.digest()
    assert (after.batch_id, after.last_seq, after.hash) == (head.batch_id, head.last_seq, head.hash)


def test_an_import_says_where_the_next_resumes(forum: Forum, book: Ledger) -> None:
    with PostgresForum(forum.url) as source:
        import_forum(book, source)
        shape = detect_shape(source)
    # The batches written after the rows name each prefix's highest recorded key, so that the
    # next run need not read every key to find it.
    assert recorded_marks(import_origins(book)) == watermarks(book, [key_prefix(scorable, shape) for scorable in SCORABLES])


def test_the_origin_says_the_watermarks_before_the_change_watermark() -> None:
    seen = datetime(2026, 12, 4, 12, 30, 15, 250)
    origin = import_origin(ForumShape("G3", frozenset(), None, True), seen, {"post": 10, "like-received": 7})
    assert recorded_marks([origin, origin.replace("post:10", "post:9")]) == {"post": 10, "like-received": 7}
    assert changes_seen_to([origin]) == seen
    # Versions before the watermarks read the change watermark up to the origin's end.
    match = re.search(r"changes seen to (\S+)", origin)
    assert match is not None and datetime.fromisoformat(match[1]) == seen
    assert recorded_marks(["discourse import (G3); changes seen to 2026-12-04T12:30:15"]) is None


def test_a_like_that_committed_after_a_run_below_its_watermark_is_found(book: Ledger) -> None:
    for forum in make_forum("G3", seed=29):
        with forum.database.connect() as conn:
            post = conn.execute(LONE_REPLY).fetchone()[0]
            author = conn.execute("SELECT user_id FROM posts WHERE id = %s", (post,)).fetchone()[0]
            liker = conn.execute("SELECT id FROM users WHERE id > 0 AND id <> %s ORDER BY id LIMIT 1", (author,)).fetchone()[0]
            top = conn.execute("SELECT max(id) FROM post_actions").fetchone()[0]
            like = f"INSERT INTO post_actions (id, post_id, user_id, post_action_type_id, created_at, updated_at) VALUES (%s, %s, %s, 2, {NOW}, {NOW})"
            conn.execute(like, (top + 2, post, liker))
        with PostgresForum(forum.url) as source:
            import_forum(book, source)
        with forum.database.connect() as conn:
            # Its id was taken before the run read the one above it; it committed after.
            conn.execute(like, (top + 1, post, liker))
        with PostgresForum(forum.url) as source:
            later = import_forum(book, source)
        assert not later.full and later.added == {"like_received": 1, "like_given": 1}
        assert set(book.action_states([f"like-received:{top + 1}", f"like-given:{top + 1}"])) == {
            f"like-received:{top + 1}",
            f"like-given:{top + 1}",
        }


def test_dry_run_counts_and_writes_nothing(forum: Forum, book: Ledger) -> None:
    book.init()
    with PostgresForum(forum.url) as source:
        dry = import_forum(book, source, dry_run=True)
        assert dry.added and dry.batch_id is None
        assert ledger_totals(book) == {}
        real = import_forum(book, source)
    assert real.added == dry.added


def test_the_forum_is_only_read(forum: Forum) -> None:
    with PostgresForum(forum.url) as source:
        with pytest.raises(Exception, match="read-only"):
            source.conn.execute("DELETE FROM posts")


def test_changed_values_become_dated_versions() -> None:
    site = forum_settings.defaults()
    current = site.with_setting("like_received_score_value", "3").with_setting("scorable_categories", "4")
    changes = [
        forum_settings.SettingChange("like_received_score_value", "1", "2", datetime(2025, 3, 1, 10), "alice", None),
        forum_settings.SettingChange("scorable_categories", "", "4", datetime(2025, 3, 1, 11), "bob", "focus"),
        forum_settings.SettingChange("like_received_score_value", "2", "3", datetime(2025, 5, 2, 9), "alice", None),
    ]
    first, march, may = forum_settings.history(current, changes)
    assert first.effective_from == forum_settings.FIRST_DAY
    assert first.rules["like_received"].value == 1 and first.rules["like_received"].by is None
    assert march.effective_from.isoformat() == "2025-03-01" and march.author == "alice, bob"
    assert march.rules["like_received"].by == {"category_id": {"4": 2}}
    assert "focus" in (march.reason or "")
    assert may.rules["like_received"].by == {"category_id": {"4": 3}}
    assert may.rules["time_read"].per == 3600 and may.rules["time_read"].min_quantity == 60


# A reply that scores only as itself: no likes, reactions or solution hang on it.
LONE_REPLY = (
    "SELECT p.id FROM posts p JOIN topics t ON t.id = p.topic_id WHERE p.post_number > 1 AND p.post_type = 1"
    " AND NOT p.wiki AND NOT p.hidden AND p.deleted_at IS NULL AND t.deleted_at IS NULL"
    " AND t.archetype = 'regular' AND p.user_id IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM post_actions pa WHERE pa.post_id = p.id)"
    " AND NOT EXISTS (SELECT 1 FROM discourse_reactions_reaction_users r WHERE r.post_id = p.id)"
    " AND NOT EXISTS (SELECT 1 FROM discourse_solved_solved_topics s WHERE s.answer_post_id = p.id)"
    " ORDER BY p.id LIMIT 3"
)
# Every column holding a user, as Discourse's UserMerger moves them.
USER_COLUMNS = [
    ("topics", "user_id"),
    ("posts", "user_id"),
    ("post_actions", "user_id"),
    ("reviewables", "created_by_id"),
    ("invites", "invited_by_id"),
    ("discourse_reactions_reaction_users", "user_id"),
    ("chat_messages", "user_id"),
    ("chat_message_reactions", "user_id"),
    ("gamification_score_events", "user_id"),
]


def _merge_in_forum(conn, source: int, target: int) -> None:
    """As Discourse's UserMerger: rows move without a timestamp (update_all), same-day visits
    fold into the target's, then the source user is deleted."""
    conn.execute(
        "UPDATE user_visits t SET time_read = t.time_read + s.time_read, posts_read = t.posts_read + s.posts_read"
        " FROM user_visits s WHERE t.user_id = %s AND s.user_id = %s AND t.visited_at = s.visited_at",
        (target, source),
    )
    conn.execute(
        "DELETE FROM user_visits WHERE user_id = %s AND visited_at IN (SELECT visited_at FROM user_visits WHERE user_id = %s)",
        (source, target),
    )
    conn.execute("UPDATE user_visits SET user_id = %s WHERE user_id = %s", (target, source))
    for table, column in USER_COLUMNS:
        conn.execute(f"UPDATE {table} SET {column} = %s WHERE {column} = %s", (target, source))
    conn.execute("DELETE FROM users WHERE id = %s", (source,))


NOW = "(now() AT TIME ZONE 'UTC')"


def _check_equal(book: Ledger, forum: Forum, off: set[int]) -> None:
    expected = plugin_totals(forum, include_events=True)
    # An event the ledger posted itself is its compensation: the plugin counts it, the
    # ledger's own total does not (that is what a compensation is for).
    with forum.database.connect() as conn:
        for user, points in conn.execute(
            "SELECT user_id, SUM(points) FROM gamification_score_events WHERE description LIKE '%%[scoreledger:%%' GROUP BY 1"
        ):
            expected[user] -= points
    expected = {user: points for user, points in expected.items() if points}
    assert {user: points for user, points in ledger_totals(book).items() if user not in off} == expected


@pytest.mark.parametrize("generation", ["G1", "G2"])
def test_deleting_restoring_editing_and_merging_on_the_forum_become_corrections(book: Ledger, generation: str) -> None:
    for forum in make_forum(generation, seed=11):
        with PostgresForum(forum.url) as source:
            first = import_forum(book, source)
            book.record_schedule(forum_settings.history(forum_settings.current_values(source), []), retroactive=True)
        # The plugin leaves inactive and suspended users out (G2, not G1); the ledger keeps them.
        off = {user.user_id for user in first.off_board if {"inactive", "suspended"} & set(user.off_board)}
        on_board = sorted(user.user_id for user in first.users.values() if not user.off_board)
        _check_equal(book, forum, off)
        with forum.database.connect() as conn:
            deleted, restored = [row[0] for row in conn.execute(LONE_REPLY).fetchall()][:2]
            # As PostDestroyer: trash! sets deleted_at only.
            conn.execute(f"UPDATE posts SET deleted_at = {NOW} WHERE id IN (%s, %s)", (deleted, restored))
            deleted_at = conn.execute("SELECT deleted_at FROM posts WHERE id = %s", (deleted,)).fetchone()[0]
        with PostgresForum(forum.url) as source:
            gone = import_forum(book, source)
        assert not gone.full, "a deletion is read from the change watermark, not by a full run"
        assert sorted(gone.retracted_keys) == sorted([f"post:{deleted}", f"post:{restored}"])
        # Booked when the forum says the post was deleted, not at the run's time.
        assert book.action_states([f"post:{deleted}"])[f"post:{deleted}"].last_changed_at == deleted_at
        assert gone.retracted == {"post_created": 2} and not gone.added and not gone.amended
        _check_equal(book, forum, off)
        with forum.database.connect() as conn:
            # A restore clears deleted_at and marks the topic changed (PostDestroyer#recover).
            conn.execute("UPDATE posts SET deleted_at = NULL WHERE id = %s", (restored,))
            conn.execute(f"UPDATE topics SET updated_at = {NOW} WHERE id = (SELECT topic_id FROM posts WHERE id = %s)", (restored,))
            invite = conn.execute("SELECT id FROM invites WHERE redemption_count > 0 ORDER BY id LIMIT 1").fetchone()[0]
            conn.execute(f"UPDATE invites SET redemption_count = redemption_count + 1, updated_at = {NOW} WHERE id = %s", (invite,))
            visitor = on_board[3]
            conn.execute(
                f"INSERT INTO user_visits (user_id, visited_at, posts_read, mobile, time_read) VALUES (%s, CAST({NOW} AS date), 3, false, 30)"
                " ON CONFLICT DO NOTHING",
                (visitor,),
            )
            event = conn.execute("SELECT id FROM gamification_score_events ORDER BY id LIMIT 1").fetchone()[0]
            conn.execute("UPDATE gamification_score_events SET points = points + 5 WHERE id = %s", (event,))
            conn.execute(
                "INSERT INTO gamification_score_events (user_id, date, points, description, created_at, updated_at)"
                " VALUES (%s, current_date, 9, 'catch-up [scoreledger:plan-1:7]', now(), now())",
                (on_board[0],),
            )
        with PostgresForum(forum.url) as source:
            second = import_forum(book, source)
        assert not second.full and not second.retracted
        assert second.reinstated == {"post_created": 1}
        assert second.amended == {"user_invited": 1}
        assert [adjustment.key for adjustment in second.adjustments] == [f"score-event:{event}:change:1"]
        assert second.adjustments[0].points == 5 and second.own_events == 1
        _check_equal(book, forum, off)
        with forum.database.connect() as conn:
            # Today's visit grows past the thresholds: time_read and post_read start to score.
            conn.execute(
                "UPDATE user_visits SET time_read = 7300, posts_read = 260 WHERE user_id = %s AND visited_at = CAST(" + NOW + " AS date)",
                (visitor,),
            )
            source_user, target_user = on_board[1], on_board[2]
            _merge_in_forum(conn, source_user, target_user)
        with PostgresForum(forum.url) as source:
            dry = import_forum(book, source, dry_run=True)
            head = book.digest()
            third = import_forum(book, source)
        assert book.digest().hash != head.hash
        assert (dry.added, dry.retracted, dry.amended, dry.merges) == (third.added, third.retracted, third.amended, third.merges)
        # A user gone from the forum whose rows read under another: merged, every key reconciled.
        assert third.merges == {source_user: target_user} and third.full
        with forum.database.connect() as conn:
            visit = conn.execute(
                "SELECT id FROM user_visits WHERE user_id = %s AND visited_at = CAST(" + NOW + " AS date)", (visitor,)
            ).fetchone()[0]
        grown = book.action_states([f"visit-time:{visit}", f"visit-posts:{visit}"])
        assert (grown[f"visit-time:{visit}"].quantity, grown[f"visit-posts:{visit}"].quantity) == (7300, 260)
        assert not third.changed
        _check_equal(book, forum, off)
        with PostgresForum(forum.url) as source:
            head = book.digest()
            again = import_forum(book, source, full=True)
            plain = import_forum(book, source)
        assert not again.corrections and not again.merges and not again.adjustments and not again.added
        assert not plain.added and not plain.adjustments and not plain.corrections and not plain.full
        assert book.digest().hash == head.hash


def test_attributes_are_spelled_as_canonical_json() -> None:
    from ledger.discourse.scorables import action_rows
    from ledger.domain import canonical_json

    page = [
        {"key": 1, "user_id": 2, "occurred_at": datetime(2025, 1, 1), "quantity": 1, "category_id": 3, "topic_id": 4, "post_id": 5},
        {"key": 2, "user_id": 2, "occurred_at": "2025-01-01T10:00:00Z", "quantity": 7, "category_id": None, "topic_id": 4, "post_id": None},
        {
            "key": 3,
            "user_id": 2,
            "occurred_at": datetime(2025, 1, 1),
            "quantity": 1,
            "category_id": None,
            "topic_id": None,
            "post_id": None,
        },
    ]
    rows = action_rows("post_created", "post", page)
    assert [row.attributes for row in rows] == [
        canonical_json({"category_id": 3, "topic_id": 4, "post_id": 5}),
        canonical_json({"topic_id": 4}),
        canonical_json({}),
    ]
    assert rows[1].occurred_at == datetime(2025, 1, 1, 10) and rows[1].source_key == "post:2"


def test_watermarks_are_the_highest_key_by_number_per_prefix(book: Ledger) -> None:
    from ledger import Action
    from ledger.discourse.importer import watermarks

    book.init()
    keys = ["post:9", "post:10", "post:2", "visit:100", "visit-time:5000", "like-received:7", "like-received-x:99"]
    book.record_actions(Action(source_key=key, user_id=1, action="post_created", occurred_at=datetime(2025, 1, 1)) for key in keys)
    other = Ledger(book.engine, "other")
    other.record_actions([Action(source_key="post:500", user_id=1, action="post_created", occurred_at=datetime(2025, 1, 1))])
    assert watermarks(book, ["post", "visit", "visit-time", "like-received", "topic"]) == {
        "post": 10,
        "visit": 100,
        "visit-time": 5000,
        "like-received": 7,
    }


def test_scorables_whose_tables_are_absent_are_reported_and_skipped(book: Ledger) -> None:
    for forum in make_forum("G1", seed=23):
        with forum.database.connect() as conn:
            conn.execute("DROP TABLE chat_messages, chat_message_reactions, discourse_reactions_reaction_users")
            conn.execute("UPDATE site_settings SET value = 'f' WHERE name IN ('chat_enabled', 'discourse_reactions_enabled')")
        with PostgresForum(forum.url) as source:
            report = import_forum(book, source, generation="G2")
            current = forum_settings.current_values(source)
        assert report.shape.generation == "G2" and not report.shape.detected
        assert set(report.skipped) == {
            "reaction_received",
            "reaction_given",
            "chat_message_created",
            "chat_reaction_received",
            "chat_reaction_given",
        }
        assert "chat_messages" in report.skipped["chat_message_created"]
        book.record_schedule(forum_settings.history(current, []), retroactive=True)
        with forum.database.connect() as conn:
            discourse_plugin.calculate_scores(conn, "G1", include_events=True)
            expected = discourse_plugin.totals(conn, "G1")
        assert ledger_totals(book) == expected
