"""Rules in words a community manager reads: "6 points each", "1 point per 100 posts read a
day, from 5". The one place rules are put into words: `schedule` commands and the audit both
call `describe`.
"""

from __future__ import annotations

from collections.abc import Mapping

from ledger.domain import Rule

NO_SCHEDULE = "no schedule in force"
NO_RULE = "no rule for this action"


def describe(
    action: str,
    value: int,
    *,
    per: int | None = None,
    min_quantity: int | None = None,
    by_attribute: str | None = None,
    by_points: Mapping[str, int] | int | None = None,
) -> str:
    """A rule in words. For a `by` rule, `by_points` is its whole table (a schedule) or what
    the table gave one event (an audit line; None: the event's value is not in the table)."""
    minimum = f", from {min_quantity}" if min_quantity else ""
    if by_attribute is not None:
        if isinstance(by_points, Mapping):
            paying = ", ".join(f"{key} → {points:,}" for key, points in _ordered(by_points) if points)
            if not paying:
                return f"by {by_attribute}: 0 points{minimum}"
            return f"by {by_attribute}: {paying} points each, any other 0{minimum}"
        return f"by {by_attribute}: {_points(by_points or 0)} each{minimum}"
    if per is not None:
        return f"{_points(value)} per {per:,} {_noun(action)} a day{minimum}"
    return f"{_points(value)} each{minimum}"


def describe_rule(action: str, rule: Rule | None) -> str:
    """`describe` for a `Rule` of a schedule (None: the action has no rule)."""
    if rule is None:
        return NO_RULE
    return describe(
        action,
        rule.value,
        per=rule.per,
        min_quantity=rule.min_quantity,
        by_attribute=rule.by_attribute,
        by_points=rule.by_points if rule.by is not None else None,
    )


def _points(count: int) -> str:
    return f"{count:,} point" + ("" if abs(count) == 1 else "s")


def _noun(action: str) -> str:
    """An action name as words: posts_read -> posts read."""
    return action.replace("_", " ")


def _ordered(table: Mapping[str, int]) -> list[tuple[str, int]]:
    """A `by` table's entries, numbers in numeric order, then the rest by name."""

    def key(item: tuple[str, int]) -> tuple[int, float, str]:
        try:
            return (0, float(item[0]), item[0])
        except ValueError:
            return (1, 0.0, item[0])

    return sorted(table.items(), key=key)
