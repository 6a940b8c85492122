"""Pricing steps shared by every recalculation: scratch tables, the rule of each day, and the
statement runner. The pricing itself is SQL (sql/replay.sql), run set-based in the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, CursorResult, Date, DateTime, bindparam

from ledger.sqlfiles import statement

# "Everything recorded so far" and "all days", as bounds the SQL can compare against.
END_OF_TIME = datetime(9999, 12, 31, 23, 59, 59)
FIRST_DAY = date(1, 1, 1)
LAST_DAY = date(9999, 12, 31)
# Hash aggregates over millions of actions spill to disk at PostgreSQL's default 4MB.
RECALC_WORK_MEM = "256MB"
SCRATCH_TABLES = ("versions", "days", "pairs", "day_rules", "priced", "user_targets", "members", "overlay", "correction_buckets", "shifted")


@dataclass(frozen=True)
class UserPoints:
    user_id: int
    points: int
    # Where the points stand on the level curve in force (ledger/levels.py); None without one.
    level: int | None = None


def run(conn: Connection, name: str, **params: Any) -> CursorResult:
    """Execute named statement `name` (sql/) with `params`, dates and times typed so that
    SQLite compares them in its stored text spelling, and collections (lists, sets) bound as
    an expanding `IN :name` list."""
    clause = statement(name, conn.dialect.name)
    typed = [
        bindparam(key, type_=DateTime() if isinstance(value, datetime) else Date())
        for key, value in params.items()
        if isinstance(value, date)
    ]
    typed += [
        bindparam(key, expanding=True)
        for key, value in params.items()
        if isinstance(value, (list, tuple, set, frozenset))
    ]
    params = {key: list(value) if isinstance(value, (set, frozenset)) else value for key, value in params.items()}
    if typed:
        clause = clause.bindparams(*typed)
    return conn.execute(clause, params)


def as_day(value: date | str) -> date:
    """A DATE column's value: SQLite hands raw statements' dates back as text."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def allow_big_aggregates(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL work_mem = '{RECALC_WORK_MEM}'")


def prepare_scratch(conn: Connection, ledger: str, *, known_at: datetime = END_OF_TIME, values_of: date | None = None) -> None:
    """Empty scratch tables, and the schedule versions that count for this run."""
    for table in SCRATCH_TABLES:
        run(conn, f"create_replay_{table}")
        run(conn, f"clear_replay_{table}")
    if values_of is None:
        run(conn, "fill_replay_versions", ledger=ledger, known_at=known_at)
    else:
        run(conn, "fill_replay_versions_pinned", ledger=ledger, known_at=known_at, values_of=values_of)


def assign_rules_to_days(conn: Connection) -> None:
    """Give each scoped day its version, and each (day, action) its rule."""
    run(conn, "assign_versions_to_days")
    run(conn, "fill_replay_day_rules")
    if conn.dialect.name == "postgresql":
        # Fresh temporary tables have no statistics; without them the planner guesses.
        for table in ("days", "pairs", "day_rules"):
            conn.exec_driver_sql(f"ANALYZE replay_{table}")


def price_scope(conn: Connection, ledger_id: int, *, known_at: datetime = END_OF_TIME) -> None:
    """Price the scoped days and pairs of ledger number `ledger_id` into replay_priced.

    On PostgreSQL this turns JIT compilation off for the rest of the transaction: the planner
    costs `price` high (the `by` rule's subquery counts as if it ran for every action), so
    it compiled the statement with full optimization, which took 0.6-0.7 s, longer than
    pricing the 350k actions of a 30-day schedule change itself (10M actions)."""
    assign_rules_to_days(conn)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL jit = off")
    run(conn, "price", ledger_id=ledger_id, known_at=known_at)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE replay_priced")


@contextmanager
def aggregates_streamed(conn: Connection) -> Iterator[None]:
    """On PostgreSQL, have the block's statements aggregate rows in the order an index gives
    them instead of hashing them. The planner takes (user, day) groups for ~30k where there
    are millions (its distinct-count estimate for user_id is low), so it picks hash aggregates
    that spill to disk: 9.3 s against 4.5 s streamed at 3M actions."""
    if conn.dialect.name != "postgresql":
        yield
        return
    conn.exec_driver_sql("SET LOCAL enable_hashagg = off")
    conn.exec_driver_sql("SET LOCAL enable_sort = off")
    yield
    conn.exec_driver_sql("RESET enable_hashagg")
    conn.exec_driver_sql("RESET enable_sort")
