"""How a table's actions spread over their days, by PostgreSQL's planner statistics.

A full rebuild in parts (ledger/rebuild.py) cuts the days where each part holds about as
many actions, and counting them would cost a pass over the table.
ANALYZE has already described the column `day`: its most common values with their shares,
and a histogram of the rest (as many values between each two neighbouring bounds). Both are
needed: in a growing community the most common days are the latest ones, which the
histogram leaves out, and cut by the histogram alone the later part holds more than its
share, so its session finishes last.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection


@dataclass(frozen=True)
class DayShares:
    """The planner's picture of one date column: `common` days with the share of rows on
    each, and the `bounds` of the histogram over the `rest` (the share of rows not on a
    common day)."""

    common: dict[date, float]
    bounds: list[date]

    @property
    def rest(self) -> float:
        return max(0.0, 1.0 - sum(self.common.values()))

    def before(self, day: date) -> float:
        """The share of rows on days before `day`, taking those in one histogram bucket as
        spread evenly over its days."""
        return sum(share for common, share in self.common.items() if common < day) + self.rest * self._histogram_before(day)

    def first_and_last(self) -> tuple[date, date] | None:
        days = [*self.common, *self.bounds]
        return (min(days), max(days)) if days else None

    def _histogram_before(self, day: date) -> float:
        bounds = self.bounds
        if len(bounds) < 2:
            return 0.0 if not bounds or day <= bounds[0] else 1.0
        above = bisect_left(bounds, day)
        if above == 0:
            return 0.0
        if above == len(bounds):
            return 1.0
        low, high = bounds[above - 1], bounds[above]
        return (above - 1 + (day - low).days / max((high - low).days, 1)) / (len(bounds) - 1)


def day_shares(conn: Connection, table: str, column: str) -> DayShares | None:
    """What ANALYZE recorded of `table`.`column` (a date column), or None if nothing."""
    row = conn.exec_driver_sql(
        "SELECT most_common_vals::text, most_common_freqs, histogram_bounds::text FROM pg_stats "
        "WHERE schemaname = current_schema() AND tablename = %(table)s AND attname = %(column)s",
        {"table": table, "column": column},
    ).first()
    if row is None or (row[0] is None and row[2] is None):
        return None
    common_days, common_shares, bounds = row
    common = dict(zip(_days(common_days), common_shares or [], strict=True))
    return DayShares(common, list(_days(bounds)))


def _days(array_text: str | None) -> Iterator[date]:
    # pg_stats shows these columns as anyarray; as text a date array reads {2024-01-01,...}.
    if array_text:
        yield from (date.fromisoformat(text) for text in array_text.strip("{}").split(","))
