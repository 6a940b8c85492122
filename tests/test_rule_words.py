"""Rules in words: one `describe`, used by the schedule commands and the audit alike."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from ledger import Action, Ledger, Rule, ScheduleVersion
from ledger.rule_words import describe_rule


@pytest.mark.parametrize(
    ("action", "rule", "words"),
    [
        ("likes_received", Rule(value=6), "6 points each"),
        ("likes_received", Rule(value=1), "1 point each"),
        ("likes_received", Rule(value=-1), "-1 point each"),
        ("likes_received", Rule(value=0), "0 points each"),
        ("likes_received", Rule(value=2, min_quantity=3), "2 points each, from 3"),
        ("posts_read", Rule(value=1, per=100, min_quantity=5), "1 point per 100 posts read a day, from 5"),
        ("posts_read", Rule(value=1_000_000, per=1000), "1,000,000 points per 1,000 posts read a day"),
        ("rated", Rule(by={"rating": {"1": 0, "10": 100, "3": 30}}), "by rating: 3 → 30, 10 → 100 points each, any other 0"),
        ("rated", Rule(by={"rating": {}}), "by rating: 0 points"),
        ("rated", None, "no rule for this action"),
    ],
)
def test_rules_read_as_words(action: str, rule: Rule | None, words: str) -> None:
    assert describe_rule(action, rule) == words


def test_the_audit_and_the_schedule_say_the_same_words(book: Ledger) -> None:
    rule = Rule(value=1, per=2, min_quantity=1)
    book.record_schedule(
        [ScheduleVersion(effective_from=date(2024, 1, 1), rules={"posts_read": rule, "likes": Rule(value=3)})], retroactive=True
    )
    book.record_actions([
        Action(source_key="p", user_id=1, action="posts_read", occurred_at=datetime(2024, 1, 2), quantity=4),
        Action(source_key="l", user_id=1, action="likes", occurred_at=datetime(2024, 1, 3)),
    ])  # fmt: skip
    lines = book.audit(1)
    assert [line.rule for line in lines] == [describe_rule("posts_read", rule), describe_rule("likes", Rule(value=3))]
    assert lines[0].rule == "1 point per 2 posts read a day, from 1"
