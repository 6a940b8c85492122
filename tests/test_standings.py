"""Leaderboards (periods, ranking modes, exclusions, limits), as-known-at, and the audit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ledger import Action, Ledger, Rule, ScheduleVersion
from ledger.errors import InvalidInput
from ledger.standings import Period, Ranking, period_window


def likes(user: int, count: int, day: date, prefix: str = "") -> list[Action]:
    return [
        Action(
            source_key=f"{prefix}u{user}-{day}-{i}",
            user_id=user,
            action="likes_received",
            occurred_at=datetime.combine(day, datetime.min.time()) + timedelta(minutes=i),
        )
        for i in range(count)
    ]


@pytest.mark.parametrize(
    ("period", "at", "window"),
    [
        (Period.all, date(2024, 5, 15), None),
        (Period.day, date(2024, 5, 15), (date(2024, 5, 15), date(2024, 5, 15))),
        (Period.week, date(2024, 5, 15), (date(2024, 5, 13), date(2024, 5, 19))),
        (Period.month, date(2024, 2, 10), (date(2024, 2, 1), date(2024, 2, 29))),
        (Period.month, date(2024, 12, 31), (date(2024, 12, 1), date(2024, 12, 31))),
        (Period.quarter, date(2024, 5, 15), (date(2024, 4, 1), date(2024, 6, 30))),
        (Period.quarter, date(2024, 11, 1), (date(2024, 10, 1), date(2024, 12, 31))),
        (Period.year, date(2024, 5, 15), (date(2024, 1, 1), date(2024, 12, 31))),
    ],
)
def test_period_windows(period: Period, at: date, window: tuple[date, date] | None) -> None:
    assert period_window(period, at) == window


def test_ranking_modes_on_ties(book: Ledger) -> None:
    book.set_schedule(date(2024, 1, 1), {"likes_received": Rule(value=1)}, retroactive=True)
    day = date(2024, 3, 1)
    book.record_actions(likes(1, 10, day) + likes(2, 30, day) + likes(3, 30, day) + likes(4, 5, day))

    def as_pairs(ranking: Ranking, from_day: date | None = None, to_day: date | None = None) -> list[tuple[int, int | str]]:
        return [(s.rank, s.user_id) for s in book.leaderboard(ranking=ranking, from_day=from_day, to_day=to_day)]

    for window in ({}, {"from_day": day, "to_day": day}):  # all-time totals, and a day range
        assert as_pairs(Ranking.dense_rank, **window) == [(1, 2), (1, 3), (2, 1), (3, 4)]
        assert as_pairs(Ranking.rank, **window) == [(1, 2), (1, 3), (3, 1), (4, 4)]
        assert as_pairs(Ranking.row_number, **window) == [(1, 2), (2, 3), (3, 1), (4, 4)]


def test_leaderboard_periods_limits_and_exclusions(book: Ledger) -> None:
    book.set_schedule(date(2024, 1, 1), {"likes_received": Rule(value=2)}, retroactive=True)
    book.record_actions(
        likes(1, 5, date(2024, 1, 10)) + likes(2, 3, date(2024, 5, 15)) + likes(3, 3, date(2024, 5, 16)) + likes(4, 1, date(2024, 5, 20))
    )
    board = book.leaderboard()
    assert [(s.rank, s.user_id, s.points) for s in board] == [(1, 1, 10), (2, 2, 6), (2, 3, 6), (3, 4, 2)]
    assert [(s.rank, s.user_id) for s in book.leaderboard(ranking=Ranking.rank)] == [(1, 1), (2, 2), (2, 3), (4, 4)]
    month = book.leaderboard(period=Period.month, at=date(2024, 5, 1))
    assert [(s.rank, s.user_id, s.points) for s in month] == [(1, 2, 6), (1, 3, 6), (2, 4, 2)]
    week = book.leaderboard(period=Period.week, at=date(2024, 5, 15))  # Monday 13th to Sunday 19th
    assert [s.user_id for s in week] == [2, 3]
    assert [s.user_id for s in book.leaderboard(from_day=date(2024, 5, 16), to_day=date(2024, 5, 31))] == [3, 4]
    assert [(s.rank, s.user_id) for s in book.leaderboard(exclude=[1], limit=2)] == [(1, 2), (1, 3)]
    with pytest.raises(InvalidInput):
        book.leaderboard(limit=0)


def test_as_known_at_answers_what_the_ledger_said_then(book: Ledger) -> None:
    book.set_schedule(date(2024, 1, 1), {"likes_received": Rule(value=3)}, retroactive=True)
    book.record_actions(likes(1, 4, date(2024, 5, 1)))
    then = datetime.now(UTC).replace(tzinfo=None)
    book.record_actions(likes(1, 2, date(2024, 5, 2), prefix="late-") + likes(2, 1, date(2024, 5, 2)))
    book.set_schedule(date(2024, 5, 1), {"likes_received": Rule(value=10)}, retroactive=True)
    assert [(s.user_id, s.points) for s in book.scores(as_known_at=then)] == [(1, 12)]
    assert [(s.user_id, s.points) for s in book.scores()] == [(1, 60), (2, 10)]
    assert book.scores(as_known_at=datetime(2000, 1, 1)) == []
    assert [(s.user_id, s.points) for s in book.scores(from_day=date(2024, 5, 2), to_day=date(2024, 5, 2))] == [(1, 20), (2, 10)]


def test_audit_lists_one_line_per_bucket_and_adds_up(book: Ledger) -> None:
    book.record_schedule(
        [
            ScheduleVersion(
                effective_from=date(2024, 1, 1),
                reason="launch",
                rules={
                    "posts_read": Rule(value=2, per=10, min_quantity=3),
                    "rating_received": Rule(by={"rating": {"4": 40, "5": 50}}),
                },
            )
        ],
        retroactive=True,
    )
    day = datetime(2024, 3, 1, 9)
    book.record_actions(
        [
            Action(source_key="r1", user_id=7, action="posts_read", occurred_at=day, quantity=8),
            Action(source_key="r2", user_id=7, action="posts_read", occurred_at=day + timedelta(hours=1), quantity=2),  # below min
            Action(source_key="r3", user_id=7, action="posts_read", occurred_at=day + timedelta(hours=2), quantity=14),
            Action(source_key="g1", user_id=7, action="rating_received", occurred_at=day + timedelta(hours=3), attributes={"rating": 5}),
            Action(source_key="g2", user_id=7, action="rating_received", occurred_at=day + timedelta(hours=4), attributes={"rating": "4"}),
            Action(source_key="g3", user_id=7, action="rating_received", occurred_at=day + timedelta(hours=5), attributes={"rating": 1}),
            Action(source_key="x1", user_id=7, action="visited", occurred_at=day + timedelta(days=1)),
            Action(source_key="old", user_id=7, action="posts_read", occurred_at=datetime(2023, 6, 1), quantity=50),
        ]
    )
    lines = book.audit(7)
    assert [(line.source_key, line.points, line.running_total) for line in lines] == [
        ("old", 0, 0),  # before the first version
        ("r1, r2, r3", 4, 4),  # (8 + 14) // 10 * 2: r2 is below min_quantity
        ("g1", 50, 54),
        ("g2", 40, 94),
        ("g3", 0, 94),
        ("x1", 0, 94),  # no rule
    ]
    assert lines[0].rule == "no schedule in force" and lines[-1].rule == "no rule for this action"
    assert (lines[1].effective_from, lines[1].reason, lines[1].events) == (date(2024, 1, 1), "launch", 3)
    assert [(s.user_id, s.points) for s in book.scores()] == [(7, 94)]
    assert [line.source_key for line in book.audit(7, from_day=date(2024, 3, 2))] == ["x1"]
