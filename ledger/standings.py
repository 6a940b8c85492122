"""Scores and leaderboards, read from the projections.

A leaderboard follows the Discourse gamification plugin's options: a period (all, year,
quarter, month, week, day) around a date, or an explicit day range; a ranking function
(dense_rank by default, as there); a limit; users to leave out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import Connection, CursorResult, Engine

from ledger.domain import MAX_INTEGER, UserPoints
from ledger.errors import InputProblem, InvalidInput
from ledger.rebuild import projection_reads
from ledger.store import ledger_numbers
from ledger.store.dialects import dialect_of
from ledger.store.statements import run
from ledger.time_bounds import FIRST_DAY, LAST_DAY
from ledger.user_keys import MAX_STORED_USER

# LIMIT takes a number on both backends (SQLite has no LIMIT NULL); more rows than any ledger.
NO_LIMIT = 2**62


class Period(str, Enum):
    all = "all"
    year = "year"
    quarter = "quarter"
    month = "month"
    week = "week"
    day = "day"


# Periods whose totals per user are kept in period_totals (ledger/rollups.py).
ROLLUP_PERIODS = (Period.month, Period.quarter, Period.year)
# How period_totals names them: by their length in months.
ROLLUP_MONTHS = {Period.month: 1, Period.quarter: 3, Period.year: 12}


class Ranking(str, Enum):
    dense_rank = "dense_rank"
    rank = "rank"
    row_number = "row_number"


@dataclass(frozen=True)
class Standing:
    """One leaderboard row."""

    rank: int
    # As in UserPoints: a stored number inside, the user's reference once labelled.
    user_id: int | str
    points: int
    level: int | None = None
    username: str | None = None
    name: str | None = None


def period_window(period: Period, at: date) -> tuple[date, date] | None:
    """The first and last day of the `period` that contains `at`; None for all of history.
    Weeks run Monday to Sunday (ISO 8601)."""
    if period is Period.all:
        return None
    if period is Period.day:
        return at, at
    if period is Period.week:
        monday = at - timedelta(days=at.weekday())
        # The calendar ends on Friday 9999-12-31: that week ends with it.
        return monday, date.max if (date.max - monday).days < 6 else monday + timedelta(days=6)
    if period is Period.year:
        return date(at.year, 1, 1), date(at.year, 12, 31)
    first_month = at.month if period is Period.month else 3 * ((at.month - 1) // 3) + 1
    months = 1 if period is Period.month else 3
    start = date(at.year, first_month, 1)
    if first_month + months > 12:
        return start, date(at.year, 12, 31)  # not the next year's first day less one: year 9999 has none
    return start, date(at.year, first_month + months, 1) - timedelta(days=1)


def rollup_of(from_day: date | None, to_day: date | None) -> tuple[Period, date] | None:
    """(period, first day) when `from_day`..`to_day` is exactly one calendar month,
    quarter or year, whose totals period_totals holds; else None."""
    if from_day is None or to_day is None:
        return None
    for period in ROLLUP_PERIODS:
        if period_window(period, from_day) == (from_day, to_day):
            return period, from_day
    return None


def check_range(from_day: date | None, to_day: date | None) -> None:
    if from_day and to_day and from_day > to_day:
        raise InvalidInput(
            [InputProblem("`from_day`/`to_day`", None, None, f"`from_day` {from_day} is after `to_day` {to_day}")],
            what="range",
            writes=False,
        )


def check_user_ids(user_ids: Iterable[int], source: str) -> None:
    """Refuse user numbers no user can have (beyond the keys' own integers and the numbers
    handed out to other keys, ledger/user_keys.py, and what SQLite can bind)."""
    wrong = sorted(user for user in user_ids if not -MAX_INTEGER <= user <= MAX_STORED_USER)
    if wrong:
        raise InvalidInput(
            [
                InputProblem(
                    source, None, "user_id", f"{user} is not a user number (they are between {-MAX_INTEGER} and {MAX_STORED_USER})"
                )
                for user in wrong
            ],
            what=source,
            writes=False,
        )


def projected_points(engine: Engine, ledger: str, from_day: date | None = None, to_day: date | None = None) -> list[UserPoints]:
    """Points per user (sorted by user) from the projections, over all of history or over
    actions on the days from `from_day` to `to_day` (inclusive)."""
    check_range(from_day, to_day)
    whole_history = from_day is None and to_day is None
    with projection_reads(engine) as conn:
        rows = run(
            conn,
            "projected_points",
            ledger_id=ledger_numbers.number_of(conn, ledger),
            whole_history=1 if whole_history else 0,
            from_day=from_day or FIRST_DAY,
            to_day=to_day or LAST_DAY,
        )
        return [UserPoints(row.user_id, int(row.points)) for row in rows]


def leaderboard(
    engine: Engine,
    ledger: str,
    *,
    period: Period = Period.all,
    at: date,
    from_day: date | None = None,
    to_day: date | None = None,
    limit: int | None = None,
    ranking: Ranking = Ranking.dense_rank,
    exclude: frozenset[int] = frozenset(),
) -> list[Standing]:
    """The leaderboard for `period` around `at`, or for `from_day`..`to_day` when given
    (either end may be open). Excluded users take no rank."""
    if from_day is None and to_day is None:
        window = period_window(period, at)
        from_day, to_day = window if window else (None, None)
    if limit is not None and limit < 1:
        raise InvalidInput([InputProblem("`limit`", None, None, "the limit is at least 1")], what="leaderboard", writes=False)
    check_range(from_day, to_day)
    check_user_ids(exclude, "excluded users")
    with projection_reads(engine) as conn:
        parameters = {
            "ledger_id": ledger_numbers.number_of(conn, ledger),
            "excluded": sorted(exclude),
            "row_limit": min(limit or NO_LIMIT, NO_LIMIT),
        }
        rows = _ranked_rows(conn, from_day, to_day, parameters)
        return [Standing(int(row._mapping[ranking.value]), row.user_id, int(row.points)) for row in rows]


def _ranked_rows(conn: Connection, from_day: date | None, to_day: date | None, parameters: dict[str, Any]) -> CursorResult:
    """The leaderboard's rows from the cheapest projection that answers the window: the
    totals for all of history, a calendar period's totals, or else the daily rows summed."""
    if from_day is None and to_day is None:
        return run(conn, "leaderboard_all", **parameters)
    rollup = rollup_of(from_day, to_day)
    if rollup is not None:
        period, start = rollup
        return run(conn, "leaderboard_period", period_months=ROLLUP_MONTHS[period], period_start=start, **parameters)
    # Summing a long range of a large community's daily rows per user hashes about a
    # million rows, which spills to disk at the default work_mem.
    dialect_of(conn).set_local(conn, "work_mem", "64MB")
    return run(conn, "leaderboard_days", from_day=from_day or FIRST_DAY, to_day=to_day or LAST_DAY, **parameters)


def ranked(
    points: list[UserPoints], *, ranking: Ranking = Ranking.dense_rank, limit: int | None = None, exclude: frozenset[int] = frozenset()
) -> list[Standing]:
    """A leaderboard from scores already computed (held never-level-down scores), ranked as
    sql/standings.sql ranks: most points first, ties by user id."""
    rows = sorted((row for row in points if row.user_id not in exclude), key=lambda row: (-row.points, row.user_id))
    board: list[Standing] = []
    dense = 0
    for position, row in enumerate(rows, start=1):
        tied = board and board[-1].points == row.points
        dense = dense if tied else dense + 1
        rank = {Ranking.dense_rank: dense, Ranking.rank: board[-1].rank if tied else position, Ranking.row_number: position}[ranking]
        board.append(Standing(rank, row.user_id, row.points, row.level))
        if limit is not None and len(board) >= limit:
            break
    return board
