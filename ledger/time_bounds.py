"""The bounds of time the ledger compares against: "everything recorded so far" and "all days"."""

from __future__ import annotations

from datetime import date, datetime

END_OF_TIME = datetime(9999, 12, 31, 23, 59, 59)
FIRST_DAY = date(1, 1, 1)
LAST_DAY = date(9999, 12, 31)

# A range of days, first and last included.
DayRange = tuple[date, date]


def as_day(value: date | str) -> date:
    """A DATE column's value: SQLite hands raw statements' dates back as text."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def as_moment(value: datetime | str) -> datetime:
    """A DATETIME column's value, which SQLite hands raw statements back as text too."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
