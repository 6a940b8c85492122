"""A later Discourse import reads the changed likes once for like_received and like_given
(like_received's rows name the giver too), and reads like_given's own query where a saved
Data Explorer query is older than those columns: both ways find the same changes."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ledger import Ledger
from ledger.discourse.forum import PostgresForum
from ledger.discourse.importer import import_forum
from ledger.discourse.queries import Query
from tests.test_discourse_import import LONE_REPLY, NOW, make_forum

SCORING_LIKE = (
    "SELECT pa.post_id FROM post_actions pa JOIN posts p ON p.id = pa.post_id JOIN topics t ON t.id = p.topic_id"
    " WHERE pa.post_action_type_id = 2 AND p.deleted_at IS NULL AND NOT p.wiki AND t.archetype = 'regular'"
    " AND p.post_number > 1 AND p.user_id IS NOT NULL AND pa.user_id IS NOT NULL ORDER BY pa.id LIMIT 1"
)


class Counting:
    """The forum, counting the statements run per query; `without_givers` answers like_received's
    rows as a saved query older than its giver columns does."""

    def __init__(self, forum: PostgresForum, *, without_givers: bool = False) -> None:
        self.forum = forum
        self.without_givers = without_givers
        self.runs: Counter[str] = Counter()

    def run(self, query: Query, params: dict[str, Any]) -> list[dict[str, Any]]:
        self.runs[query.name] += 1
        rows = self.forum.run(query, params)
        if self.without_givers and query.name == "like_received":
            rows = [{name: value for name, value in row.items() if name not in ("giver_id", "giver_scores")} for row in rows]
        return rows


def _one(conn: Any, sql: str) -> tuple[Any, ...]:
    found = conn.execute(sql).fetchone()
    assert found is not None, sql
    return tuple(found)


def _states(book: Ledger) -> dict[str, tuple[bool, int]]:
    return {key: (state.active, state.quantity) for key, state in book.action_states().items()}


def test_the_changed_likes_are_read_once_and_as_an_older_saved_query_reads_them(book: Ledger) -> None:
    for forum in make_forum("G1", seed=23):
        older = Ledger(book.engine, "older-saved-query")
        with PostgresForum(forum.url) as source:
            import_forum(book, source)
            import_forum(older, source)
        with forum.database.connect() as conn:
            [liked] = _one(conn, SCORING_LIKE)
            conn.execute(f"UPDATE posts SET deleted_at = {NOW} WHERE id = %s", (liked,))
            post, author = _one(conn, LONE_REPLY.replace("SELECT p.id", "SELECT p.id, p.user_id"))
            [liker] = _one(conn, f"SELECT id FROM users WHERE id > 0 AND id <> {int(author)} ORDER BY id LIMIT 1")
            conn.execute(
                "INSERT INTO post_actions (id, post_id, user_id, post_action_type_id, created_at, updated_at)"
                f" VALUES ((SELECT max(id) + 1 FROM post_actions), %s, %s, 2, {NOW}, {NOW})",
                (post, liker),
            )
        with PostgresForum(forum.url) as source:
            current = Counting(source)
            later = import_forum(book, current)
            before = Counting(source, without_givers=True)
            old = import_forum(older, before)
        # Both read the new likes by each query; only the older saved query reads like_given's changes by its own.
        assert current.runs["like_received"] == before.runs["like_received"]
        assert current.runs["like_given"] < before.runs["like_given"]
        assert later.added == {"like_received": 1, "like_given": 1}
        assert later.retracted["like_received"] >= 1 and later.retracted["like_given"] == later.retracted["like_received"]
        assert (later.added, later.retracted, later.amended) == (old.added, old.retracted, old.amended)
        assert sorted(later.retracted_keys) == sorted(old.retracted_keys)
        assert _states(book) == _states(older)
