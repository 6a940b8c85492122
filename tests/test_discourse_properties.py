"""For any generated forum, in any generation: import, then the point-value history, gives
every user the plugin's own total (score events aside), user for user."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import Ledger
from ledger.discourse import settings as forum_settings
from ledger.discourse.forum import PostgresForum
from ledger.discourse.importer import import_forum
from tests import discourse_plugin
from tests.discourse_forum import ForumPlan
from tests.test_discourse_import import make_forum


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    generation=st.sampled_from(["G1", "G2", "G3"]),
    seed=st.integers(0, 10_000),
    categories=st.sampled_from(["", "1", "2|3|5"]),
    post_value=st.integers(0, 4),
)
def test_ledger_equals_plugin_for_any_forum(generation: str, seed: int, categories: str, post_value: int) -> None:
    plan = ForumPlan(
        users=15, topics=20, days=40, settings={"scorable_categories": categories, "post_created_score_value": str(post_value)}
    )
    for forum in make_forum(generation, seed, plan):
        with tempfile.TemporaryDirectory() as folder:
            book = Ledger.open(f"sqlite:///{Path(folder) / 'ledger.db'}")
            book.init()
            with PostgresForum(forum.url) as source:
                report = import_forum(book, source)
                current = forum_settings.current_values(source)
                board = forum_settings.leaderboards(source)[0] if generation == "G3" else None
            book.record_schedule(forum_settings.history(current, [], board), retroactive=True)
            got = {row.user_id: row.points for row in book.scores() if row.points}
            book.close()
        with forum.database.connect() as conn:
            discourse_plugin.calculate_scores(conn, generation, include_events=True)
            expected = discourse_plugin.totals(conn, generation, board.leaderboard_id if board else None)
        off = {user.user_id for user in report.off_board if {"inactive", "suspended"} & set(user.off_board)}
        assert {user: points for user, points in got.items() if user not in off} == expected


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(1, 4), st.integers(-50, 50)), max_size=4, unique_by=lambda pair: pair[0]), min_size=1, max_size=5
    )
)
def test_score_event_keys_always_sum_to_the_forums_points(runs: list[list[tuple[int, int]]]) -> None:
    """Whatever the forum does to its score events between imports (points changed, events
    deleted), the imported adjustments of each event sum to its points on the forum now."""
    from datetime import date

    from ledger.discourse.score_events import ScoreEvent, score_event_adjustments

    recorded: list = []
    for run in runs:
        events = [ScoreEvent(event_id, 7, date(2025, 1, event_id), points, "award") for event_id, points in run]
        added = score_event_adjustments(events, recorded, full=True)
        assert len({adjustment.key for adjustment in recorded + added}) == len(recorded) + len(added)
        recorded += added
        sums: dict[str, int] = {}
        for adjustment in recorded:
            base = adjustment.key.split(":change:")[0]
            sums[base] = sums.get(base, 0) + adjustment.points
        assert {key: points for key, points in sums.items() if points} == {event.key: event.points for event in events if event.points}
        assert score_event_adjustments(events, recorded, full=True) == []
