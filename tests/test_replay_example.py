"""The issue's worked example: a point-value change never reprices the past."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ledger import Action, Ledger, Rule


def actions(prefix: str, action: str, count: int, start: datetime, user: int = 1) -> list[Action]:
    return [
        Action(source_key=f"{prefix}{i}", user_id=user, action=action, occurred_at=start + timedelta(minutes=7 * i)) for i in range(count)
    ]


def record_example(book: Ledger) -> None:
    book.set_schedule(
        date(2024, 1, 1), {"likes_received": Rule(value=3), "posts_created": Rule(value=6)}, retroactive=True, reason="launch"
    )
    book.set_schedule(
        date(2024, 5, 16), {"likes_received": Rule(value=6), "posts_created": Rule(value=3)}, retroactive=True, reason="reward quality"
    )
    book.record_actions(
        actions("like-before-", "likes_received", 100, datetime(2024, 5, 1))
        + actions("post-before-", "posts_created", 50, datetime(2024, 5, 10))
        + actions("like-after-", "likes_received", 10, datetime(2024, 5, 16))
        + actions("post-after-", "posts_created", 10, datetime(2024, 6, 1))
    )


def test_example_holds_before_and_after_any_number_of_full_recalcs(book: Ledger) -> None:
    record_example(book)
    assert [(s.user_id, s.points) for s in book.scores()] == [(1, 100 * 3 + 50 * 6 + 10 * 6 + 10 * 3)]
    for _ in range(3):
        book.recalc(full=True)
        assert [(s.user_id, s.points) for s in book.scores()] == [(1, 690)]
    book.recalc()
    assert [(s.user_id, s.points) for s in book.scores()] == [(1, 690)]


def test_example_audit_adds_up_to_the_score(book: Ledger) -> None:
    record_example(book)
    lines = book.audit(1)
    assert len(lines) == 170
    assert lines[-1].running_total == 690
    assert sum(line.points for line in lines) == 690
    before, after = lines[0], lines[-1]
    assert (before.effective_from, before.reason, before.points) == (date(2024, 1, 1), "launch", 3)
    assert (after.effective_from, after.reason, after.points) == (date(2024, 5, 16), "reward quality", 3)


def test_naive_recalculation_drifts(book: Ledger) -> None:
    record_example(book)
    # At today's values every like is worth 6 and every post 3: the past is repriced.
    assert [(s.user_id, s.points) for s in book.naive_scores(date(2025, 1, 1))] == [(1, 110 * 6 + 60 * 3)]
