"""The point-value history of the synthetic community: thirteen schedule versions.

Values move every six months, as an admin tuning a growing forum would (likes get cheaper
as they become common, solutions dearer). The plugin-style side can only price at one set
of values, the newest ("today's"), which is what `todays_values` gives it.
"""

from __future__ import annotations

from datetime import date

from bench.generator import FIRST_DAY
from ledger.domain import Rule, ScheduleVersion

# Per action type: the value in each successive version. Rules with `per` price buckets
# per user and day, exactly as the plugin's integer divisions do for one visit a day.
_VALUES = {
    "day_visited": [1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2],
    "posts_read": [1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1],
    "time_read": [1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2],
    "topic_created": [5, 5, 5, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3],
    "post_created": [2, 2, 3, 3, 3, 3, 3, 6, 6, 6, 3, 3, 3],
    "like_given": [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    "like_received": [1, 2, 2, 2, 2, 3, 3, 3, 3, 6, 6, 6, 6],
    "solution_accepted": [10, 10, 10, 20, 20, 20, 30, 30, 60, 60, 60, 60, 60],
    "flag_agreed": [10, 10, 10, 10, 6, 6, 6, 6, 6, 6, 6, 6, 6],
    "user_invited": [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 5, 5, 5],
}
_PER = {"posts_read": 5, "time_read": 60}
VERSION_COUNT = 13


def effective_days() -> list[date]:
    """Every version's first day: the first day of history, then every six months."""
    return [date(FIRST_DAY.year + index // 2, 1 if index % 2 == 0 else 7, 1) for index in range(VERSION_COUNT)]


def versions() -> list[ScheduleVersion]:
    """The community's schedule history, oldest first."""
    return [
        ScheduleVersion(
            effective_from=day,
            rules={action: Rule(value=values[index], per=_PER.get(action)) for action, values in _VALUES.items()},
            author="bench",
            reason=f"point values, revision {index + 1}",
        )
        for index, day in enumerate(effective_days())
    ]


def todays_values() -> dict[str, int]:
    """The newest version's value per action type: all a plugin-style recalculation knows."""
    return {action: values[-1] for action, values in _VALUES.items()}


def change_effective(day: date) -> ScheduleVersion:
    """A further version from `day` (for the "schedule change effective 30 days ago" measurement)."""
    latest = {action: values[-1] for action, values in _VALUES.items()}
    latest["like_received"] += 1
    latest["post_created"] += 1
    return ScheduleVersion(
        effective_from=day,
        rules={action: Rule(value=value, per=_PER.get(action)) for action, value in latest.items()},
        author="bench",
        reason="a change dated 30 days back",
    )
