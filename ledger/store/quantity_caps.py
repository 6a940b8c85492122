"""The bound on what a ledger's scores can add up to, checked as events are written.

Points are summed per user and day, per period, over all of history and over users, in
64-bit integers. No sum can be larger in size than the ledger's *capacity*: its quantities
added up (amendments counting what they add) times the largest point value any of its
schedule versions names, plus its adjustments' points added up in size. Each write keeps
the capacity at most MAX_TOTAL_POINTS, arithmetically, from two running totals kept in the
ledger's `ledger_numbers` row (migration 0017), so no accepted input can overflow:

- a batch of actions or amendments adds its quantities to `quantity_total`;
- a batch of adjustments adds its points, in size, to `adjustment_total`;
- a schedule version is checked against both with its own largest point value.

The totals only grow (a retraction frees nothing), so the bound holds for every reading of
the past (`as_known_at`) and after any merge of users as well. Every write already holds the
journal's lock, so reading and raising the totals in one transaction needs no lock of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, func, select, update

from ledger.domain import MAX_TOTAL_POINTS
from ledger.errors import InputProblem
from ledger.rows import quantity_of
from ledger.store.tables import ledger_numbers, schedule_rule_points, schedule_rules, schedule_versions

# What a quantity is multiplied by before any schedule names a point value: the bound must
# also leave room for the first schedule's (from 1 point per unit).
LEAST_VALUE = 1


def _totals(conn: Connection, number: int) -> tuple[int, int]:
    row = conn.execute(
        select(ledger_numbers.c.quantity_total, ledger_numbers.c.adjustment_total).where(ledger_numbers.c.number == number)
    ).one_or_none()
    return (0, 0) if row is None else (int(row[0]), int(row[1]))


def largest_value(conn: Connection, ledger: str) -> int:
    """The largest point value in size that any recorded schedule version of `ledger` names
    (a rule's value or a `by` table's points), at least LEAST_VALUE."""
    versions = select(schedule_versions.c.seq).where(schedule_versions.c.ledger == ledger).scalar_subquery()
    values = conn.execute(select(func.max(func.abs(schedule_rules.c.value))).where(schedule_rules.c.version_seq.in_(versions))).scalar()
    points = conn.execute(
        select(func.max(func.abs(schedule_rule_points.c.points))).where(schedule_rule_points.c.version_seq.in_(versions))
    ).scalar()
    return max(LEAST_VALUE, int(values or 0), int(points or 0))


def _ledger_name(conn: Connection, number: int) -> str | None:
    return conn.execute(select(ledger_numbers.c.ledger).where(ledger_numbers.c.number == number)).scalar()


def _too_much(quantity: int, value: int, adjustments: int) -> str:
    return (
        f"{quantity:,} units of quantity at point values up to {value:,} and adjustments of "
        f"{adjustments:,} points in size could take its scores past {MAX_TOTAL_POINTS:,}, "
        "which would overflow 64-bit integers"
    )


class QuantityBudget:
    """The bound for one batch of actions streamed in chunks: the ledger's totals read once
    before its rows go in (a COPY under way holds the connection), each chunk checked here,
    and the new quantity total recorded once all are in."""

    def __init__(self, conn: Connection, number: int) -> None:
        self.number = number
        self.quantity, self.adjustments = _totals(conn, number)
        self.recorded = self.quantity
        name = _ledger_name(conn, number)
        self.value = largest_value(conn, name) if name is not None else LEAST_VALUE

    def admit(self, rows: Sequence[Any]) -> list[InputProblem]:
        """Count the quantities of `rows` (LocatedRow) in, or return a problem naming the first
        row that would take the capacity past MAX_TOTAL_POINTS (and count none of them)."""
        added = quantity_of(rows)
        if (self.quantity + added) * self.value + self.adjustments <= MAX_TOTAL_POINTS:
            self.quantity += added
            return []
        return self.admit_each((located.source, located.line, located.row.quantity) for located in rows)

    def admit_each(self, rows: Iterable[tuple[str, int | None, int]]) -> list[InputProblem]:
        """As `admit`, for (source, line, quantity added) one at a time."""
        running = self.quantity
        for source, line, added in rows:
            running += added
            if running * self.value + self.adjustments > MAX_TOTAL_POINTS:
                reason = "takes the ledger's total quantity too far: " + _too_much(running, self.value, self.adjustments)
                return [InputProblem(source, line, "quantity", reason)]
        self.quantity = running
        return []

    def record(self, conn: Connection) -> None:
        if self.quantity != self.recorded:
            conn.execute(update(ledger_numbers).where(ledger_numbers.c.number == self.number).values(quantity_total=self.quantity))
            self.recorded = self.quantity


def amendment_problems(
    conn: Connection, number: int, rows: Sequence[tuple[str, int | None, int]], *, record: bool = True
) -> list[InputProblem]:
    """As `QuantityBudget.admit`, for (source, line, quantity added) of amendments; `record`
    false only checks."""
    budget = QuantityBudget(conn, number)
    problems = budget.admit_each(rows)
    if record and not problems:
        budget.record(conn)
    return problems


def adjustment_problems(conn: Connection, number: int, rows: Sequence[tuple[str, int | None, int]]) -> list[InputProblem]:
    """Admit adjustments' (source, line, points) to ledger number `number`, as `QuantityBudget.admit` does quantities."""
    budget = QuantityBudget(conn, number)
    quantity, adjustments, value = budget.quantity, budget.adjustments, budget.value
    running = adjustments
    for source, line, points in rows:
        running += abs(points)
        if quantity * value + running > MAX_TOTAL_POINTS:
            return [InputProblem(source, line, "points", "takes the ledger's adjustments too far: " + _too_much(quantity, value, running))]
    if running != adjustments:
        conn.execute(update(ledger_numbers).where(ledger_numbers.c.number == number).values(adjustment_total=running))
    return []


def value_allowed(conn: Connection, ledger: str) -> tuple[int, str]:
    """The largest point value in size a new schedule version of `ledger` may name without
    letting its scores overflow, and why a larger one is refused."""
    number = conn.execute(select(ledger_numbers.c.number).where(ledger_numbers.c.ledger == ledger)).scalar()
    quantity, adjustments = _totals(conn, number) if number is not None else (0, 0)
    allowed = (MAX_TOTAL_POINTS - adjustments) // quantity if quantity else MAX_TOTAL_POINTS
    return allowed, (
        f"is more than {allowed:,} points in size: the ledger's actions add up to {quantity:,} units "
        f"and its adjustments to {adjustments:,} points, so its scores could pass {MAX_TOTAL_POINTS:,} "
        "and overflow 64-bit integers"
    )
