"""A small pure-Python reference model of pricing, used only by tests (docs/design.md invariant 4).

It is written from the rules' definitions, deliberately naive: for each (user, day), take
the version in force that day (latest effective_from <= day; on a tie the later recorded
one), and price each action type's events by its rule. Scoring periods: an action earns
nothing (and counts towards no bucket) when the version in force on its day among those
recorded before it is off or starts later; its corrections then book nothing either.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any, cast

from ledger.domain import Action, RecordedScheduleVersion, Rule


def version_in_force(versions: Iterable[RecordedScheduleVersion], day: date) -> RecordedScheduleVersion | None:
    candidates = [v for v in versions if v.version.effective_from <= day]
    return max(candidates, key=lambda v: (v.version.effective_from, v.seq), default=None)


def may_earn(versions: Iterable[RecordedScheduleVersion], day: date, last_version_before: int) -> bool:
    """Whether an action on `day`, recorded after the versions up to seq `last_version_before`
    and before any later one, may earn under the scoring periods."""
    version = version_in_force([v for v in versions if v.seq <= last_version_before], day)
    return version is None or (version.version.enabled and (version.version.start_date is None or version.version.start_date <= day))


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
            assert rule.by_attribute is not None  # a `by` rule names its attribute
            key = attribute_text(action.attributes.get(rule.by_attribute))
            total += rule.by_points.get(key, 0) * action.quantity if key is not None else 0
        else:
            total += rule.value * action.quantity
    return total


def daily_points(actions: Iterable[Action], versions: list[RecordedScheduleVersion]) -> dict[tuple[int, date], int]:
    """Points per (user, day) for every (user, day) with at least one action."""
    buckets: dict[tuple[int, date, str], list[Action]] = defaultdict(list)
    for action in actions:
        # The model names users by integers.
        buckets[(cast(int, action.user_id), action.day, action.action)].append(action)
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


# -- corrections, adjustments and merges ------------------------------------------------------


def resolve(user: int, merges: dict[int, int]) -> int:
    """A user's final target through a chain of merges (A into B, B into C: C)."""
    seen = {user}
    while user in merges and merges[user] not in seen:
        user = merges[user]
        seen.add(user)
    return user


def corrected_daily_points(
    actions: Iterable[Action],
    corrections: list[tuple[str, str, date, int | None, dict | None]],
    adjustments: Iterable[tuple[int, date, int, str]],
    merges: dict[int, int],
    versions: list[RecordedScheduleVersion],
    versions_before: dict[str, int] | None = None,
) -> dict[tuple[int, date], int]:
    """Points per (user, day) with corrections booked on their own days.

    `corrections` in recording order: (kind, source_key, booked day, quantity, attributes),
    kind retraction / reinstatement / amendment. Each (user, action day, action) bucket is
    priced, at its action day's version, as it stood at the end of each day something was
    booked on it (its actions' day, each correction's day); each such day is booked the change
    since the previous one. Adjustments are (user, day, points, kind); merges map a user to
    the user it was merged into, whose points it then counts for. `versions_before`: per
    source key, the seq of the last version recorded before the action (scoring periods);
    without it, every version was recorded before every action."""
    by_key = {action.source_key: action for action in actions}
    history: dict[str, list[tuple[date, Action | None]]] = defaultdict(list)
    for kind, key, day, quantity, attributes in corrections:
        original = by_key[key]
        last = history[key][-1][1] if history[key] else original
        if kind == "retraction":
            state = None
        elif kind == "reinstatement":
            state = last if last is not None else _last_active(original, history[key])
        else:
            state = original.model_copy(update={"quantity": quantity, "attributes": attributes or {}})
        history[key].append((day, state))
    buckets: dict[tuple[int, date, str], list[Action]] = defaultdict(list)
    for action in by_key.values():
        # The model names users by integers.
        buckets[(cast(int, action.user_id), action.day, action.action)].append(action)
    points: dict[tuple[int, date], int] = defaultdict(int)
    for (user, day, kind), events in buckets.items():
        version = version_in_force(versions, day)
        rule = version.version.rule_for(kind) if version else None
        booking_days = sorted({day} | {booked for event in events for booked, _ in history[event.source_key]})
        previous = 0
        for booked in booking_days:
            states = [
                _state_at(event, history[event.source_key], booked)
                if may_earn(versions, day, (versions_before or {}).get(event.source_key, 2**62))
                else None
                for event in events
            ]
            now = price_bucket(rule, [state for state in states if state is not None])
            points[(resolve(user, merges), booked)] += now - previous
            previous = now
    for user, day, amount, kind in adjustments:
        if kind != "compensation":
            points[(resolve(user, merges), day)] += amount
    return dict(points)


def _state_at(original: Action, changes: list[tuple[date, Action | None]], day: date) -> Action | None:
    state: Action | None = original
    for booked, changed in changes:
        if booked <= day:
            state = changed
    return state


def _last_active(original: Action, changes: list[tuple[date, Action | None]]) -> Action:
    for _day, state in reversed(changes):
        if state is not None:
            return state
    return original
