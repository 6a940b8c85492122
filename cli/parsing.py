"""Turning command-line words into domain values, with errors that name the option."""

from __future__ import annotations

from datetime import date, datetime

from ledger.domain import MAX_POINT_VALUE, OutsideCalendar, parse_day, parse_timestamp
from ledger.errors import InputProblem, InvalidInput


def day_option(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return parse_day(value)
    except ValueError as exc:
        raise InvalidInput([InputProblem(option, None, None, str(exc))], what=option, writes=False) from None


def timestamp_option(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        reason = str(exc) if isinstance(exc, OutsideCalendar) else f"not an ISO 8601 timestamp: {value!r}"
        raise InvalidInput([InputProblem(option, None, None, reason)], what=option, writes=False) from None


def assignments(words: list[str]) -> dict[str, int]:
    """`action=value` words as a mapping; every malformed word is reported."""
    values: dict[str, int] = {}
    problems: list[InputProblem] = []
    for word in words:
        name, sep, number = word.partition("=")
        name = name.strip()
        if not sep or not name:
            problems.append(InputProblem(word, None, None, "expected ACTION=POINTS, e.g. likes_received=6"))
            continue
        try:
            values[name] = int(number)
        except ValueError:
            problems.append(InputProblem(word, None, name, f"points must be a whole number, got {number!r}"))
            continue
        if abs(values[name]) > MAX_POINT_VALUE:
            problems.append(InputProblem(word, None, name, f"points are between -{MAX_POINT_VALUE} and {MAX_POINT_VALUE}"))
    if problems:
        raise InvalidInput(problems, what="schedule set")
    if not values:
        raise InvalidInput([InputProblem("schedule set", None, None, "name at least one ACTION=POINTS")], what="schedule set")
    return values
