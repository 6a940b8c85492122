"""The forum's users in a Discourse import: a later import reads only the users the forum
updated since the last one (a rename among them) and learns which users the forum still has
from runs of ids; `--full` compares every user's names again."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ledger import Ledger
from ledger.discourse.forum import PostgresForum
from ledger.discourse.importer import forum_user_ids, import_forum
from ledger.discourse.queries import Query
from ledger.discourse.user_ids import UserIdRuns, read_user_id_runs
from tests.test_discourse_import import NOW, make_forum


def _names(book: Ledger, user: int) -> tuple[str | None, str | None]:
    found = book.names_of(user)
    assert found is not None
    return found.username, found.name


def test_a_later_import_records_a_rename_reading_only_the_users_updated(book: Ledger) -> None:
    for forum in make_forum("G2", seed=31):
        with PostgresForum(forum.url) as source:
            first = import_forum(book, source)
        renamed, unstamped = sorted(user for user in first.users if user > 0)[2:4]
        with forum.database.connect() as conn:
            # As Discourse saves a user (UsernameChanger, the preferences): updated_at is set.
            conn.execute(f"UPDATE users SET username = 'renamed', name = 'Renamed One', updated_at = {NOW} WHERE id = %s", (renamed,))
            # A write no timestamp shows, as a hand-made UPDATE would do.
            conn.execute("UPDATE users SET name = 'Quietly Renamed' WHERE id = %s", (unstamped,))
        with PostgresForum(forum.url) as source:
            later = import_forum(book, source)
        assert not later.full and later.users_changed_since is not None
        assert set(later.users) == {renamed}
        assert _names(book, renamed) == ("renamed", "Renamed One")
        assert _names(book, unstamped) == (f"user{unstamped}", first.users[unstamped].name)
        with PostgresForum(forum.url) as source:
            full = import_forum(book, source, full=True)
            again = import_forum(book, source)
        assert full.users_changed_since is None and len(full.users) == len(first.users)
        assert _names(book, unstamped) == (f"user{unstamped}", "Quietly Renamed")
        assert not again.corrections and not again.added


class _SavedBeforeRuns:
    """A forum whose saved Data Explorer query predates the user id runs: that branch answers nothing."""

    def __init__(self, forum: PostgresForum) -> None:
        self.forum = forum

    def run(self, query: Query, params: dict[str, Any]) -> list[dict[str, Any]]:
        return [] if query.name == "user_id_runs" else self.forum.run(query, params)


def test_the_forums_user_ids_are_read_as_runs_and_without_them() -> None:
    for forum in make_forum("G3", seed=5):
        with forum.database.connect() as conn:
            conn.execute("DELETE FROM users WHERE id IN (3, 4, 9)")
            ids = {row[0] for row in conn.execute("SELECT id FROM users")}
        with PostgresForum(forum.url) as source:
            runs = read_user_id_runs(source)
            fallback = forum_user_ids(_SavedBeforeRuns(source))
        assert len(runs.firsts) >= 3
        assert {user for user in range(min(ids) - 2, max(ids) + 3) if user in runs} == ids
        assert fallback == ids


@given(st.sets(st.integers(min_value=-3, max_value=60)))
def test_runs_hold_exactly_their_ids(ids: set[int]) -> None:
    ordered = sorted(ids)
    firsts = [user for user in ordered if user - 1 not in ids]
    lasts = [user for user in ordered if user + 1 not in ids]
    runs = UserIdRuns(tuple(firsts), tuple(lasts))
    assert {user for user in range(-6, 64) if user in runs} == ids
    assert "1" not in runs and bool(runs) == bool(ids)
