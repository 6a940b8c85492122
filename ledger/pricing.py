"""Pricing steps shared by every recalculation: scratch tables, the rule of each day, and the
planner settings pricing needs. The pricing itself is SQL (sql/replay.sql), run set-based in
the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

from sqlalchemy import Connection, Date, bindparam

from ledger.periods import PeriodOf, closed_windows
from ledger.sqlfiles import statement
from ledger.store.dialects import dialect_of, planner_settings
from ledger.store.statements import run
from ledger.time_bounds import END_OF_TIME, as_day

# Hash aggregates over millions of actions spill to disk at PostgreSQL's default 4MB.
RECALC_WORK_MEM = "256MB"
SCRATCH_TABLES = (
    "versions",
    "days",
    "pairs",
    "day_rules",
    "closed",
    "priced",
    "user_targets",
    "members",
    "overlay",
    "correction_buckets",
    "shifted",
)


def allow_big_aggregates(conn: Connection) -> None:
    dialect_of(conn).set_local(conn, "work_mem", RECALC_WORK_MEM)


def prepare_scratch(conn: Connection, ledger: str, *, known_at: datetime = END_OF_TIME, values_of: date | None = None) -> bool:
    """Empty scratch tables, the schedule versions that count for this run, and the windows
    in which scoring periods close scoring (ledger/periods.py). Returns whether there are any."""
    for table in SCRATCH_TABLES:
        run(conn, f"create_replay_{table}")
        run(conn, f"clear_replay_{table}")
    if values_of is None:
        run(conn, "fill_replay_versions", ledger=ledger, known_at=known_at)
    else:
        run(conn, "fill_replay_versions_pinned", ledger=ledger, known_at=known_at, values_of=values_of)
    periods = [
        PeriodOf(row.seq, as_day(row.effective_from), bool(row.enabled), row.start_date and as_day(row.start_date))
        for row in run(conn, "scoring_periods", ledger=ledger)
    ]
    windows = closed_windows(periods)
    if windows:
        clause = statement("insert_replay_closed", dialect_of(conn).name).bindparams(
            *(bindparam(name, type_=Date()) for name in ("first_day", "last_day", "start_date"))
        )
        conn.execute(clause, [{**window._asdict(), "off": int(window.off)} for window in windows])
    return bool(windows)


def assign_rules_to_days(conn: Connection) -> None:
    """Give each scoped day its version, and each (day, action) its rule."""
    run(conn, "assign_versions_to_days")
    run(conn, "fill_replay_day_rules")
    # Fresh temporary tables have no statistics; without them the planner guesses.
    dialect_of(conn).analyze(conn, "replay_days", "replay_pairs", "replay_day_rules")


def price_scope(conn: Connection, ledger_id: int, *, gated: bool, known_at: datetime = END_OF_TIME, actions: bool = True) -> None:
    """Price the scoped days and pairs of ledger number `ledger_id` into replay_priced;
    `gated`: scoring periods close scoring somewhere (what `prepare_scratch` returned).
    `actions` False: no action is in scope (ledger/overlay.py `fill_overlay`), only what is
    booked on shifted pairs, so no day needs its rules.

    On PostgreSQL this turns JIT compilation off for the rest of the transaction: the planner
    costs `price` high (the `by` rule's subquery counts as if it ran for every action), so
    it compiled the statement with full optimization, which took longer than the pricing of
    a month's schedule change itself."""
    dialect = dialect_of(conn)
    if actions:
        assign_rules_to_days(conn)
    else:
        # Later statements look the pairs up in their indexes only when the planner knows how few.
        dialect.analyze(conn, "replay_days", "replay_pairs")
    dialect.set_local(conn, "jit", "off")
    # Scoring periods that close scoring somewhere (ledger/periods.py) need another statement.
    run(conn, "price_gated" if gated else "price", ledger_id=ledger_id, known_at=known_at)
    dialect.analyze(conn, "replay_priced")


@contextmanager
def aggregates_streamed(conn: Connection) -> Iterator[None]:
    """On PostgreSQL, have the block's statements aggregate rows in the order an index gives
    them instead of hashing them. The planner takes (user, day) groups for ~30k where there
    are millions (its distinct-count estimate for user_id is low), so it picks hash aggregates
    that spill to disk, where aggregating rows in index order needs no hash table at all."""
    with planner_settings(conn, enable_hashagg="off", enable_sort="off"):
        yield


@contextmanager
def joins_hashed(conn: Connection) -> Iterator[None]:
    """On PostgreSQL, have the block's statements join by hashing instead of looking each row
    up in an index. For a full rebuild's corrections, where every bucket with a correction is
    in scope: the planner takes the buckets' (user, day, action) keys for a few distinct ones
    and looks every one of them up through a Memoize that never hits."""
    with planner_settings(conn, enable_nestloop="off"):
        yield
