"""A full rebuild of a ledger's projections: every action priced afresh.

The daily rows are written with no key to maintain, and the key is built afterwards:
building a B-tree once from sorted rows costs a fraction of updating it row by row. Readers
of the projections wait for the commit; until then they see nothing half-done.

On SQLite the rows go straight into daily_scores, its indexes set aside meanwhile.

On PostgreSQL daily_scores and period_totals are held in parts, each one ledger's rows over
one range of days (ledger/store/projection_parts.py), and a large ledger is priced in up to
PARTS ranges at once: PostgreSQL 15 runs INSERT ... SELECT on one core, and pricing is the
largest step of a rebuild. The rebuilding transaction prices the first range; every other
range is priced by a session of its own that reads the rebuilding transaction's snapshot
(pg_export_snapshot), so the ranges together price what one statement would have. Each
range's daily rows, months and quarters go into tables of their own (partitions of the
scratch tables replay_rebuilt and replay_rebuilt_periods), where its session also sums its
pieces of years and builds the tables' keys. The rebuilding transaction then sums the years
from the pieces (ledger/rollups.py), drops the ledger's old parts and attaches the new
tables in their place: all of it commits or none does. A crash may leave the scratch tables
behind; the next rebuild drops them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, timedelta

from sqlalchemy import Connection, Engine

from ledger import overlay, rollups
from ledger.day_shares import day_shares
from ledger.pricing import aggregates_streamed, allow_big_aggregates, assign_rules_to_days, joins_hashed, prepare_scratch
from ledger.store import projection_parts
from ledger.store.bulk_indexes import indexes_set_aside
from ledger.store.dialects import dialect_of
from ledger.store.engine import read_transaction, translate_errors
from ledger.store.projection_parts import DAILY, PERIODS, Part
from ledger.store.statements import run
from ledger.time_bounds import FIRST_DAY, LAST_DAY, DayRange, as_day

# Sessions pricing at once on PostgreSQL (the database server's cores it may take), and the
# size below which one session prices everything (starting the others costs more than it saves).
PARTS = 2
PARALLEL_MIN_ACTIONS = 500_000
# The calendar's last quarter start: no later one to move a cut to.
LAST_QUARTER_START = date(LAST_DAY.year, 10, 1)
# What pg_export_snapshot returns, e.g. 00000003-0000001B-1: checked before it is spliced
# into SET TRANSACTION SNAPSHOT, which takes no bind parameters.
SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$")


@contextmanager
def projection_reads(engine: Engine) -> Iterator[Connection]:
    """A read transaction over the projections that, on PostgreSQL, first waits for a full
    rebuild in progress to commit. A rebuild empties user_totals with TRUNCATE and replaces
    the ledger's parts of the other projections, neither of which is MVCC-safe: a reader
    whose snapshot was taken before the rebuild committed would find them empty instead of
    the previous rows. LOCK takes no snapshot, so queueing on the tables' locks first lets
    the snapshot, taken by the next statement, see the rebuilt rows."""
    with read_transaction(engine) as conn:
        dialect_of(conn).wait_for_writers(conn, "daily_scores", "user_totals", "period_totals")
        yield conn


def rebuild_projections(conn: Connection, ledger: str, ledger_id: int, say: Callable[[str], None] = lambda _step: None) -> tuple[int, int]:
    """Replace `ledger`'s projections (where it is number `ledger_id`, ledger/store/ledger_numbers.py)
    with every action priced afresh, inside the caller's transaction; returns (user-days, users).
    `say` hears of each step as it begins.

    User totals come last, summed from the year rows of period_totals: every user with a
    daily row has one (at 0 points too), and there are a tenth as many as daily rows.

    The projections are not analyzed here: nothing later in the rebuild plans a query on
    them, and the caller's VACUUM (ANALYZE) after the commit (replay.tidy_projections) does
    it; analyzing them here too would only add time."""
    postgresql = dialect_of(conn).is_postgresql
    _empty_projections(conn, ledger_id, postgresql)
    dialect_of(conn).analyze_if_stale(conn, "corrections")
    if postgresql:
        say("pricing every action, and totalling months, quarters and years")
        user_days = _price_parts_at_once(conn, ledger, ledger_id, day_ranges(conn, ledger_id))
    else:
        say("pricing every action")
        with indexes_set_aside(conn, "daily_scores", analyze=False):
            user_days = _price_part(conn, ledger, ledger_id, None, (FIRST_DAY, LAST_DAY))
        say("totalling months, quarters and years")
        rollups.rebuild(conn, ledger_id)
    users = run(conn, "total_every_user", ledger_id=ledger_id).rowcount
    return user_days, users


def day_ranges(conn: Connection, ledger_id: int) -> list[DayRange]:
    """The day ranges priced apart: all days at once; or on PostgreSQL, for a large table,
    up to PARTS ranges cut at quarter starts, so that every month and quarter lies in one
    part, which totals it (ledger/rollups.py `total_part`). The cuts are the quarter starts
    that split the table's actions (not the ledger's: an uneven split only costs time) most
    evenly by the planner's statistics; where there are none, at even steps between the
    ledger's first and last day, moved back to their quarter starts."""
    if not dialect_of(conn).is_postgresql or PARTS < 2:
        return [(FIRST_DAY, LAST_DAY)]
    estimate = conn.exec_driver_sql("SELECT reltuples FROM pg_class WHERE oid = 'actions'::regclass").scalar()
    if estimate is None or estimate < PARALLEL_MIN_ACTIONS:
        return [(FIRST_DAY, LAST_DAY)]
    cuts = sorted(set(_planned_cuts(conn) or [_quarter_start(cut) for cut in _even_cuts(conn, ledger_id)]))
    starts = [FIRST_DAY, *cuts]
    ends = [cut - timedelta(days=1) for cut in cuts] + [LAST_DAY]
    return list(zip(starts, ends, strict=True))


def _planned_cuts(conn: Connection) -> list[date]:
    """The quarter starts that split the table's actions most evenly by the planner's
    statistics of actions.day (ledger/day_shares.py); none without statistics."""
    shares = day_shares(conn, "actions", "day")
    span = shares.first_and_last() if shares is not None else None
    starts = list(_quarter_starts_within(*span)) if span is not None else []
    if shares is None or not starts:
        return []
    return [min(starts, key=lambda start: abs(shares.before(start) - part / PARTS)) for part in range(1, PARTS)]


def _quarter_starts_within(first: date, last: date) -> Iterator[date]:
    """Quarter starts after `first`, up to `last`: where a cut leaves neither side empty."""
    start = _quarter_start(first)
    while start < LAST_QUARTER_START:
        start = _next_quarter_start(start)
        if start > last:
            return
        yield start


def _even_cuts(conn: Connection, ledger_id: int) -> list[date]:
    first, last = run(conn, "ledger_day_span", ledger_id=ledger_id).one()
    if first is None:
        return []
    first, last = as_day(first), as_day(last)
    return [first + (last - first) * part / PARTS for part in range(1, PARTS) if first + (last - first) * part / PARTS > first]


def _quarter_start(day: date) -> date:
    return date(day.year, day.month - (day.month - 1) % 3, 1)


def _next_quarter_start(start: date) -> date:
    return date(start.year + 1, 1, 1) if start.month == 10 else date(start.year, start.month + 3, 1)


def _empty_projections(conn: Connection, ledger_id: int, postgresql: bool) -> None:
    """The ledger's daily rows and user totals gone; on PostgreSQL its parts of daily_scores
    and period_totals too (new ones take their place; on SQLite `rollups.rebuild` empties
    period_totals)."""
    if postgresql:
        for table in (DAILY, PERIODS):
            projection_parts.drop_parts(conn, table, ledger_id)
    if not run(conn, "other_ledger_projected", ledger_id=ledger_id).scalar():
        dialect_of(conn).empty_tables(conn, *(("user_totals",) if postgresql else ("user_totals", "daily_scores")))
        return
    run(conn, "delete_user_totals_of_ledger", ledger_id=ledger_id)
    if not postgresql:
        run(conn, "delete_daily_scores_of_ledger", ledger_id=ledger_id)


def _start_scratch(conn: Connection, parts: list[Part]) -> None:
    """Fresh scratch tables with `parts` (those a crashed rebuild left behind are dropped),
    created and committed apart, so that the sessions pricing parts can write to them."""
    with translate_errors(), conn.engine.connect() as apart:
        apart = apart.execution_options(isolation_level="AUTOCOMMIT")
        run(apart, "drop_replay_rebuilt")
        for table in (DAILY, PERIODS):
            projection_parts.create_parent(apart, table, scratch=True)
        projection_parts.create_scratch_parts(apart, parts)
        run(apart, "create_replay_rebuilt_year_pieces")


def _price_part(
    conn: Connection, ledger: str, ledger_id: int, part: int | None, days: DayRange, *, with_periods: bool = False, jit: bool = True
) -> int:
    """Price the actions on `days` in `conn`'s transaction: into the first part's table when
    `part` is None (the rebuilding transaction's; on SQLite daily_scores itself), else into
    replay_rebuilt, which routes them to that part's table; `with_periods` (PostgreSQL),
    total their months and quarters as well; without `jit`, with PostgreSQL's JIT compiler
    off (for a small ledger, compiling costs more than it saves). Returns the (user, day)
    rows written."""
    # Scoring periods that close scoring somewhere need each action's seq: another statement.
    gated = prepare_scratch(conn, ledger)
    overlay.fill_user_targets(conn, ledger_id)
    run(conn, "fill_replay_days", ledger_id=ledger_id, from_day=days[0], to_day=days[1])
    assign_rules_to_days(conn)
    variant = "_gated" if gated else "_plain" if run(conn, "rules_price_units_alike").scalar() else ""
    _book_on_days(conn, ledger_id, days)
    if not jit:
        dialect_of(conn).set_local(conn, "jit", "off")
    with aggregates_streamed(conn):
        into = "price_everything" if part is None else "price_everything_apart"
        user_days = run(conn, f"{into}{variant}", ledger_id=ledger_id, from_day=days[0], to_day=days[1]).rowcount
        if with_periods:
            rollups.total_part(conn, ledger_id, part, days)
    return user_days


def _book_on_days(conn: Connection, ledger_id: int, days: DayRange) -> None:
    """replay_overlay for every day of `days`: adjustments, correction deltas, and the actions
    of merged users priced as their own, which pricing then folds in (sql/replay.sql
    `days_priced_and_booked`)."""
    with joins_hashed(conn):
        overlay.fill_overlay(conn, ledger_id)
    run(conn, "fill_replay_overlay_merged_actions", ledger_id=ledger_id, from_day=days[0], to_day=days[1])
    # fill_overlay turns JIT off for its lookups; the pricing of every action keeps the default.
    dialect_of(conn).reset(conn, "jit")


def _price_parts_at_once(conn: Connection, ledger: str, ledger_id: int, ranges: list[DayRange]) -> int:
    """PostgreSQL: price and total the periods of the first range in `conn`'s transaction
    and of each other range in a session of its own reading `conn`'s snapshot, all at once,
    each into tables of its own, and key them there; sum the years; then make the tables the
    ledger's parts of daily_scores and period_totals. Returns the (user, day) rows written.

    Each other session commits its rows and periods first and keys its tables after, so that
    the years are summed meanwhile."""
    parts = {number: projection_parts.rebuilt_parts(ledger_id, ranges, number) for number in range(1, len(ranges) + 1)}
    years = projection_parts.years_part(ledger_id)
    every_part = [part for own in parts.values() for part in own] + [years]
    _start_scratch(conn, every_part)
    snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
    if not SNAPSHOT_ID.match(snapshot):
        raise ValueError(f"unexpected snapshot id from PostgreSQL: {snapshot!r}")
    apart = list(enumerate(ranges, start=1))[1:]
    totalled: dict[int, Future[None]] = {number: Future() for number, _ in apart}
    with ThreadPoolExecutor(max_workers=max(len(apart), 1)) as pool:
        keyed = [
            pool.submit(_price_part_in_snapshot, conn.engine, snapshot, ledger, ledger_id, number, days, parts[number], totalled[number])
            for number, days in apart
        ]
        # The other sessions price meanwhile. With one range the ledger is small (`day_ranges`).
        user_days = _price_part(conn, ledger, ledger_id, None, ranges[0], with_periods=True, jit=len(ranges) > 1)
        projection_parts.key_scratch_parts(conn, parts[1])
        for number, _ in apart:
            totalled[number].result()
        rollups.total_years(conn, ledger_id)
        projection_parts.key_scratch_parts(conn, [years])
        user_days += sum(future.result() for future in keyed)
    projection_parts.adopt_scratch_parts(conn, every_part)
    run(conn, "drop_replay_rebuilt")
    return user_days


def _price_part_in_snapshot(
    engine: Engine, snapshot: str, ledger: str, ledger_id: int, number: int, days: DayRange, parts: list[Part], totalled: Future[None]
) -> int:
    """Price range `number` (`days`) into its tables in `snapshot`, with its months and
    quarters, commit, and say so through `totalled`; then key the tables (`parts`). Returns
    the (user, day) rows written."""
    try:
        with translate_errors(), engine.connect() as conn:
            with conn.begin():
                # Both must come before any query of the transaction.
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                allow_big_aggregates(conn)
                user_days = _price_part(conn, ledger, ledger_id, number, days, with_periods=True)
            totalled.set_result(None)
            with conn.begin():
                projection_parts.key_scratch_parts(conn, parts)
            return user_days
    except BaseException as exc:
        # The rebuilding transaction may be waiting for these rows: it must hear of the failure.
        if not totalled.done():
            totalled.set_exception(exc)
        raise
