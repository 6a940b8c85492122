"""Levels: where a score stands on the level curve of the schedule version in force.

A curve (ledger/domain.py LevelCurve) says where each level starts. With `never_level_down`
a user's score is never let fall below the start of the highest level it has reached: at
the end of a day whose losses would take it lower, it is held at that start, and the
difference is a `hold`. Only users with a day of negative points can ever be held, so the
day-by-day walk runs for those users alone; every other score is its plain sum.

The curve is the one of the version in force on the day asked about (default: today in the ledger's time zone), as the
ledger knew it then: levels are a standing, read now, not priced per day.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, bindparam, select, text

from ledger.domain import LevelCurve
from ledger.store.tables import schedule_versions
from ledger.time_bounds import END_OF_TIME, as_day


@dataclass(frozen=True)
class Hold:
    """A day on which a never-level-down score was held at the start of its level."""

    day: date
    points: int
    level: int


def curve_in_force(conn: Connection, ledger: str, day: date, *, known_at: datetime | None = None) -> LevelCurve | None:
    """The level curve of the version in force on `day`, or None."""
    query = (
        select(schedule_versions.c.levels)
        .where(
            schedule_versions.c.ledger == ledger,
            schedule_versions.c.effective_from <= day,
            schedule_versions.c.recorded_at <= (known_at or END_OF_TIME),
        )
        .order_by(schedule_versions.c.effective_from.desc(), schedule_versions.c.seq.desc())
        .limit(1)
    )
    return stored_curve(conn.execute(query).scalar())


def stored_curve(stored: str | None) -> LevelCurve | None:
    """A version's level curve as `schedule_versions.levels` holds it (JSON), or None."""
    return LevelCurve(**json.loads(stored)) if stored else None


def walk(days: Iterable[tuple[date, int]], curve: LevelCurve) -> tuple[int, list[Hold]]:
    """A never-level-down score from its daily points in day order: (score, holds)."""
    total = 0
    floor = 0
    holds: list[Hold] = []
    for day, points in days:
        total += points
        if total < floor:
            holds.append(Hold(day, floor - total, curve.level_for(floor)))
            total = floor
        floor = max(floor, curve.threshold(curve.level_for(total)))
    return total, holds


DAILY_ROWS_OF_LOSERS = {
    "projection": (
        "SELECT user_id, day, points FROM daily_scores WHERE ledger_id = :ledger_id AND user_id IN "
        "(SELECT user_id FROM daily_scores WHERE ledger_id = :ledger_id AND points < 0) ORDER BY user_id, day"
    ),
    # In a pricing transaction (ledger/replay.py `points_in`), its scratch result instead.
    "priced": (
        "SELECT user_id, day, points FROM replay_priced WHERE user_id IN "
        "(SELECT user_id FROM replay_priced WHERE points < 0) ORDER BY user_id, day"
    ),
}


def held_scores(conn: Connection, curve: LevelCurve, *, ledger_id: int | None = None) -> dict[int, int]:
    """The held score of every user with a day of negative points, from the projection of
    ledger number `ledger_id`, or (None) from the pricing transaction's replay_priced."""
    source = "projection" if ledger_id is not None else "priced"
    statement = text(DAILY_ROWS_OF_LOSERS[source])
    params = {"ledger_id": ledger_id} if ledger_id is not None else {}
    days: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for user_id, day, points in conn.execute(statement.bindparams(*[bindparam(name) for name in params]), params):
        days[user_id].append((as_day(day), int(points)))
    return {user_id: walk(rows, curve)[0] for user_id, rows in days.items()}
