"""Which users a forum still has, read as runs of consecutive ids (sql/discourse/user_id_runs.sql):
a later import looks for the users a merge deleted without reading every user's row."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from ledger.discourse.forum import Forum, pages
from ledger.discourse.queries import load


@dataclass(frozen=True)
class UserIdRuns:
    """A forum's user ids as runs: `firsts[i]` to `lasts[i]`, each id in between a user's."""

    firsts: tuple[int, ...]
    lasts: tuple[int, ...]

    def __contains__(self, user: object) -> bool:
        if not isinstance(user, int):
            return False
        run = bisect_right(self.firsts, user) - 1
        return run >= 0 and user <= self.lasts[run]

    def __bool__(self) -> bool:
        return bool(self.firsts)


def read_user_id_runs(forum: Forum) -> UserIdRuns:
    """The forum's user ids; empty when the forum answers none (every forum has its system
    user, so only a saved Data Explorer query from before this query was added answers none)."""
    firsts: list[int] = []
    lasts: list[int] = []
    for page in pages(forum, load("user_id_runs")):
        for row in page:
            firsts.append(int(row["key"]))
            lasts.append(int(row["last_id"]))
    return UserIdRuns(tuple(firsts), tuple(lasts))
