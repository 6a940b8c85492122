"""A small pure-Python reference model of pricing, used only by tests (DESIGN.md invariant 4).

It is written from the rules' definitions, deliberately naive: for each (user, day), take
the version in force that day (latest effective_from <= day; on a tie the later recorded
one), and price each action type's events by its rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from ledger.domain import Action, RecordedScheduleVersion, Rule


def version_in_force(versions: Iterable[RecordedScheduleVersion], day: date) -> RecordedScheduleVersion | None:
    candidates = [v for v in versions if v.version.effective_from <= day]
    return max(candidates, key=lambda v: (v.version.effective_from, v.seq), default=None)


def attribute_text(value: Any) -> str | None:
    """How an attribute is compared with a `by` table's keys: as text, booleans as JSON."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def counts(rule: Rule, action: Action) -> bool:
    return action.quantity >= (rule.min_quantity or 0)


def price_bucket(rule: Rule | None, events: list[Action]) -> int:
    """Points for one user's events of one action type on one day."""
    if rule is None:
        return 0
    if rule.per is not None:
        return sum(a.quantity for a in events if counts(rule, a)) // rule.per * rule.value
    total = 0
    for action in events:
        if not counts(rule, action):
            continue
        if rule.by is not None:
            key = attribute_text(action.attributes.get(rule.by_attribute))
            total += rule.by_points.get(key, 0) * action.quantity if key is not None else 0
        else:
            total += rule.value * action.quantity
    return total


def daily_points(actions: Iterable[Action], versions: list[RecordedScheduleVersion]) -> dict[tuple[int, date], int]:
    """Points per (user, day) for every (user, day) with at least one action."""
    buckets: dict[tuple[int, date, str], list[Action]] = defaultdict(list)
    for action in actions:
        buckets[(action.user_id, action.day, action.action)].append(action)
    points: dict[tuple[int, date], int] = defaultdict(int)
    for (user, day, kind), events in buckets.items():
        version = version_in_force(versions, day)
        rule = version.version.rule_for(kind) if version else None
        points[(user, day)] += price_bucket(rule, events)
    return dict(points)


def user_points(daily: dict[tuple[int, date], int], first: date | None = None, last: date | None = None) -> dict[int, int]:
    totals: dict[int, int] = defaultdict(int)
    for (user, day), points in daily.items():
        if (first is None or day >= first) and (last is None or day <= last):
            totals[user] += points
    return dict(totals)
