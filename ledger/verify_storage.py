"""Strict reading of stored values, for `verify`.

The hash covers a value as the code reads it back, but SQL reads the stored value itself. On
SQLite a column accepts any type: a rule's value stored as the text '0_60' reads as 60 in
Python (and hashes as 60) but counts as 0 in SQL arithmetic; a `recorded_at` spelled
'2026-12-03T21:20' reads as the same time but compares differently in SQL text order. So
every stored value of the tables the journal covers must be of its column's declared type and,
for times and dates, in the one spelling the ledger writes. PostgreSQL enforces column types
itself; only the checks that are not about types apply there.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Connection, Date, DateTime, Integer, SmallInteger, String, Table, Text, func, select

from ledger.domain import LevelCurve, canonical_json
from ledger.store.dialects import dialect_of
from ledger.store.tables import (
    EVENT_TABLES,
    actions,
    adjustments,
    corrections,
    ledger_numbers,
    metadata,
    schedule_rule_points,
    schedule_rules,
    schedule_versions,
)
from ledger.store.typed_columns import DAY_PATTERN, TIME_PATTERN

# What is wrong, and the batch id and seq it is found at (either may be None).
Finding = tuple[str, int | None, int | None]


def stored_value_problem(conn: Connection) -> Finding | None:
    """The first stored value of a journal table that is not of its declared type or
    spelling, or a level curve not stored as written; None when every value is."""
    if dialect_of(conn).is_sqlite:
        for name in ("batches", *EVENT_TABLES):
            found = _sqlite_first_mistyped(conn, metadata.tables[name])
            if found is not None:
                return found
        found = _sqlite_first_mistyped(conn, ledger_numbers)
        if found is not None:
            return found
    return _levels_problem(conn)


def _expected(column: Column) -> tuple[str, str | None]:
    """The SQLite storage class a column's values must have, and a GLOB pattern if any."""
    kind = column.type
    if isinstance(kind, DateTime):
        return "text", TIME_PATTERN
    if isinstance(kind, Date):
        return "text", DAY_PATTERN
    if isinstance(kind, Boolean):
        return "integer", None
    if isinstance(kind, BigInteger | Integer | SmallInteger):
        return "integer", None
    if isinstance(kind, String | Text):
        return "text", None
    raise TypeError(f"no storage rule for {column.table.name}.{column.name} ({kind!r})")


def _condition(column: Column) -> str:
    storage, pattern = _expected(column)
    name = f'"{column.name}"'
    good = f"typeof({name}) = '{storage}'"
    if pattern is not None:
        good += f" AND {name} GLOB '{pattern}'"
    if isinstance(column.type, Boolean):
        good += f" AND {name} IN (0, 1)"
    if column.nullable:
        good = f"({name} IS NULL OR ({good}))"
    return f"({good})"


def _sqlite_first_mistyped(conn: Connection, table: Table) -> Finding | None:
    """One pass over `table`: the first row with a value of another type or spelling."""
    conditions = [(column, _condition(column)) for column in table.columns]
    which = " ".join(f"WHEN NOT {condition} THEN '{column.name}'" for column, condition in conditions)
    located = next((name for name in ("seq", "version_seq", "batch_id") if name in table.columns), "NULL")
    # Only our own table and column names and constant patterns go into this statement.
    statement = (
        f"SELECT {located}, CASE {which} END AS bad FROM {table.name} "
        f"WHERE NOT ({' AND '.join(condition for _, condition in conditions)}) LIMIT 1"
    )
    row = conn.exec_driver_sql(statement).first()
    if row is None:
        return None
    seq, column_name = row
    column = table.columns[column_name]
    stored = conn.exec_driver_sql(
        f'SELECT typeof("{column_name}"), "{column_name}" FROM {table.name} WHERE NOT {_condition(column)} LIMIT 1'
    ).first()
    storage, pattern = _expected(column)
    wanted = (
        storage if pattern is None else f"{storage} spelled {'YYYY-MM-DD HH:MM:SS.ffffff' if pattern == TIME_PATTERN else 'YYYY-MM-DD'}"
    )
    shown = repr(stored[1]) if stored is not None else "?"
    found_type = stored[0] if stored is not None else "?"
    detail = f"{table.name}.{column_name} holds {found_type} {shown[:60]}, not {wanted}"
    place = seq if isinstance(seq, int) else None
    return (detail, place, None) if table.name == "batches" else (detail, None, place)


def _levels_problem(conn: Connection) -> Finding | None:
    """A level curve stored in any spelling but the one written (e.g. with extra keys, which
    reading would ignore)."""
    query = select(schedule_versions.c.seq, schedule_versions.c.levels).where(schedule_versions.c.levels.is_not(None))
    for seq, levels in conn.execute(query):
        problem = _level_curve_problem(levels)
        if problem:
            return f"schedule_versions.levels {problem}", None, seq
    return None


def _level_curve_problem(levels: Any) -> str | None:
    try:
        parsed = json.loads(levels)
    except (ValueError, TypeError) as exc:
        return f"is not a level curve ({str(exc).splitlines()[0]})"
    if not isinstance(parsed, dict) or set(parsed) - set(LevelCurve.model_fields):
        return f"holds keys a level curve does not have: {levels[:80]}"
    try:
        curve = LevelCurve.model_validate(parsed, strict=True)
    except (ValueError, TypeError) as exc:
        return f"is not a level curve ({str(exc).splitlines()[0]})"
    if levels != canonical_json(curve.to_document()):
        return f"is spelled {levels[:80]}, not as written ({canonical_json(curve.to_document())})"
    return None


def orphan_rules(conn: Connection) -> Finding | None:
    """Rules and points rows must belong to a recorded version (the foreign key on rules can
    be switched off; points have none)."""
    known = select(schedule_versions.c.seq)
    for table in (schedule_rules, schedule_rule_points):
        stray = conn.execute(
            select(table.c.version_seq).where(table.c.version_seq.not_in(known)).order_by(table.c.version_seq).limit(1)
        ).first()
        if stray is not None:
            return f"{table.name} rows name a version that was never recorded", None, stray.version_seq
    return None


def ledger_totals_problem(conn: Connection) -> Finding | None:
    """Each ledger's running totals (ledger_numbers, ledger/store/quantity_caps.py) must be at
    least what its events add up to: totals lowered by hand would let input that can overflow
    64-bit sums be accepted. (Higher totals only refuse input sooner; events removed from the
    tail leave them so, which a digest reveals.)"""
    number = ledger_numbers.c.number
    quantities = select(func.coalesce(func.sum(actions.c.quantity), 0)).where(actions.c.ledger_id == number).scalar_subquery()
    added = (
        select(func.coalesce(func.sum(corrections.c.new_quantity - corrections.c.old_quantity), 0))
        .where(corrections.c.ledger_id == number, corrections.c.new_quantity > corrections.c.old_quantity)
        .scalar_subquery()
    )
    points = select(func.coalesce(func.sum(func.abs(adjustments.c.points)), 0)).where(adjustments.c.ledger_id == number).scalar_subquery()
    query = select(ledger_numbers.c.ledger, ledger_numbers.c.quantity_total, ledger_numbers.c.adjustment_total, quantities + added, points)
    for ledger, quantity_total, adjustment_total, quantity, adjustment in conn.execute(query.order_by(number)):
        if quantity_total < int(quantity) or adjustment_total < int(adjustment):
            return (
                f"ledger {ledger!r} records totals of {quantity_total} units and {adjustment_total} adjustment "
                f"points, below what its events add up to ({int(quantity)} and {int(adjustment)})",
                None,
                None,
            )
    return None
