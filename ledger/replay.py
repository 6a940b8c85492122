"""Replay: every action priced by the schedule version in force on its UTC day.

The pricing itself is SQL (sql/replay.sql, statement `price`), run set-based inside the
database; this module decides *what* to price and where the result goes:

- `recalc` keeps the projections (`daily_scores`, `user_totals`) up to date, either
  incrementally (only the (user, day) pairs new actions touch, and every day from the
  earliest `effective_from` of newly recorded schedule versions) or in full;
- `points_in` answers from the events directly, as known at a moment in the past
  (bitemporal) or at one version's values for all of history (the naive recalculation).

A recalculation is one transaction: if it dies half-way, readers keep seeing the previous
projection (PostgreSQL MVCC, SQLite WAL), and the next run starts from the same point.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine

from ledger import overlay, rollups
from ledger.domain import UserPoints
from ledger.pricing import allow_big_aggregates, prepare_scratch, price_scope
from ledger.rebuild import projection_reads, rebuild_projections
from ledger.store import ledger_numbers
from ledger.store.dialects import dialect_of
from ledger.store.engine import read_transaction, vacuum_analyze, write_transaction
from ledger.store.statements import run
from ledger.time_bounds import END_OF_TIME, FIRST_DAY, LAST_DAY, as_day

# Recalculations of the same database take turns (PostgreSQL advisory lock; on SQLite the
# write lock of BEGIN IMMEDIATE). Not the journal lock: ingest goes on during a recalc.
PROJECTION_LOCK_KEY = 0x5C0E1ED8
# The projections vacuumed after a rebuild, each group in a session of its own at once.
TIDIED_TOGETHER = (("daily_scores",), ("period_totals", "user_totals"))

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RecalcOutcome:
    """What a recalculation did."""

    full: bool
    user_days: int
    users: int
    through_seq: int


@contextmanager
def projection_transaction(engine: Engine) -> Iterator[Connection]:
    """One recalculation at a time, all or nothing."""
    with write_transaction(engine, PROJECTION_LOCK_KEY) as conn:
        allow_big_aggregates(conn)
        yield conn


@contextmanager
def pricing_transaction(engine: Engine) -> Iterator[Connection]:
    """A read transaction for pricing on the fly (`points_in`)."""
    with read_transaction(engine) as conn:
        allow_big_aggregates(conn)
        yield conn


def recalc(engine: Engine, ledger: str, *, full: bool = False, progress: Progress | None = None) -> RecalcOutcome:
    """Bring `ledger`'s projections up to date; `full` rebuilds them from every event.

    The first run on a ledger is always full. Runs are serialized against each other.
    """
    say = progress or (lambda _step: None)
    number = ledger_numbers.ensure(engine, ledger)
    with projection_transaction(engine) as conn:
        through_seq = run(conn, "journal_through_seq").scalar_one()
        previous = run(conn, "projection_through_seq", ledger=ledger).scalar()
        # A state ahead of the journal was altered: an incremental run would skip events.
        full = full or previous is None or previous > through_seq
        if full:
            user_days, users = rebuild_projections(conn, ledger, number, say)
        else:
            say("finding what changed")
            # An incremental run looks up a few thousand (user, day)s among millions of rows,
            # which are in memory: at the default page costs (a random read 4 times a
            # sequential one) the planner read whole tables instead, ten times slower.
            dialect_of(conn).set_local(conn, "random_page_cost", "1")
            gated = prepare_scratch(conn, ledger)
            overlay.fill_user_targets(conn, number)
            reprice_from = run(conn, "earliest_new_version_day", ledger=ledger, after_seq=previous).scalar()
            if reprice_from is not None:
                run(conn, "fill_replay_days", ledger_id=number, from_day=as_day(reprice_from), to_day=LAST_DAY)
            run(conn, "fill_replay_pairs_of_new_actions", ledger=ledger, after_seq=previous)
            for source in ("adjustments", "corrections", "merges"):
                run(conn, f"fill_replay_pairs_of_new_{source}", ledger_id=number, after_seq=previous)
            say("pricing what changed")
            # Pairs are shifted only where corrections, adjustments or merges came since, and
            # not after a new schedule version (a pair's rules may have changed: all are priced again).
            shifting = reprice_from is None and run(conn, "has_new_corrections_of_any_kind", ledger_id=number, after_seq=previous).scalar()
            merged = bool(run(conn, "has_new_merges", ledger_id=number, after_seq=previous).scalar())
            user_days, users = _update_scope(conn, number, gated=gated, shift_after=previous if shifting else None, merged=merged)
        now = datetime.now(UTC).replace(tzinfo=None)
        run(
            conn,
            "save_projection_state",
            ledger=ledger,
            through_seq=through_seq,
            now=now,
            rebuilt_at=now if full else None,
        )
        outcome = RecalcOutcome(full, user_days, users, through_seq)
    if full:
        tidy_projections(engine)
    return outcome


def _update_scope(conn: Connection, number: int, *, gated: bool, shift_after: int | None = None, merged: bool = False) -> tuple[int, int]:
    """Price the scope set in replay_days and replay_pairs (with corrections, adjustments and
    merges) and replace its daily rows, moving totals and period totals by the change.
    `shift_after`: an incremental run's starting seq, when the pairs that only corrections,
    adjustments and merges since touch may keep their actions' points: their daily rows move
    by what those change (sql/corrections.sql `fill_replay_shifted`), so retracting keys costs
    their buckets' corrections, and a merge the merged user's daily rows, not every action
    of their users' days.
    `merged`: users were merged since, whose totals and period rows, moved to their targets, go
    (only then: rows of users merged before are gone, and finding them reads whole tables).
    Returns (user-days written, users whose total moved)."""
    run(conn, "fill_replay_pairs_of_targets")
    run(conn, "fill_replay_days_of_pairs")
    if shift_after is not None:
        run(conn, "fill_replay_shifted", ledger_id=number, after_seq=shift_after)
    dialect_of(conn).analyze_if_stale(conn, "corrections")
    actions = overlay.fill_overlay(conn, number, shifted_after=shift_after)
    price_scope(conn, number, gated=gated, actions=actions)
    users = run(conn, "add_user_totals_changes", ledger_id=number).rowcount
    rollups.apply_changes(conn, number)
    run(conn, "delete_daily_scores_of_whole_days", ledger_id=number)
    run(conn, "delete_daily_scores_of_pairs", ledger_id=number)
    user_days = run(conn, "insert_daily_scores", ledger_id=number).rowcount
    if merged:
        run(conn, "drop_totals_of_merged_users", ledger_id=number)
        run(conn, "drop_period_totals_of_merged_users", ledger_id=number)
    return user_days, users


def tidy_projections(engine: Engine) -> None:
    """After a rebuild, on PostgreSQL: fresh statistics for the planner, and a visibility map
    so leaderboards read the covering index alone instead of one table page per row. VACUUM
    cannot run in a transaction, so this comes after the rebuild commits; if it is
    interrupted the projections are still complete, only slower to read until autovacuum
    catches up.

    Two sessions at once, one for the daily rows and one for the rest: VACUUM works on one
    core, and the daily rows are about half of what it reads."""
    if not dialect_of(engine).is_postgresql:
        return
    with ThreadPoolExecutor(max_workers=len(TIDIED_TOGETHER)) as pool:
        for done in [pool.submit(vacuum_analyze, engine, *tables) for tables in TIDIED_TOGETHER]:
            done.result()


def is_behind(engine: Engine, ledger: str) -> bool:
    """Whether events were recorded in `ledger` since its projections were last brought up
    to date (or they never were)."""
    with read_transaction(engine) as conn:
        return behind_in(conn, ledger)


def behind_in(conn: Connection, ledger: str) -> bool:
    """`is_behind` in the caller's snapshot."""
    previous = run(conn, "projection_through_seq", ledger=ledger).scalar()
    if previous is None:
        return True
    return bool(run(conn, "has_new_events", ledger=ledger, after_seq=previous).scalar())


def points_in(
    conn: Connection,
    ledger: str,
    *,
    known_at: datetime | None = None,
    from_day: date | None = None,
    to_day: date | None = None,
    values_of: date | None = None,
    current_state: bool = False,
) -> list[UserPoints]:
    """Points per user (sorted by user) computed from the events, not the projections, in
    the caller's transaction (which sees its own writes).

    `current_state`: each action as it stands after its corrections, on its own day, without
    adjustments: what a platform recomputing from its own tables sees (ledger/platform.py
    computes the same from the projections).

    `known_at`: only events and schedule versions recorded by then ("what did the ledger
    say on May 15?"). `from_day`/`to_day`: only actions on those days (inclusive).
    `values_of`: price all of history at the version in force on that day, as a naive
    recalculation at "today's values" would; used to show retroactive drift.
    """
    known_at = known_at or END_OF_TIME
    number = ledger_numbers.number_of(conn, ledger)
    gated = prepare_scratch(conn, ledger, known_at=known_at, values_of=values_of)
    overlay.fill_user_targets(conn, number, known_at)
    run(conn, "fill_replay_days", ledger_id=number, from_day=from_day or FIRST_DAY, to_day=to_day or LAST_DAY)
    overlay.fill_overlay(conn, number, known_at, current_state=current_state)
    price_scope(conn, number, gated=gated, known_at=known_at)
    return [UserPoints(row.user_id, int(row.points)) for row in run(conn, "sum_replay_priced")]


def projected_daily_points(engine: Engine, ledger: str) -> list[tuple[int, date, int]]:
    """Every (user, day, points) row of `ledger`'s daily projection, by user and day."""
    with projection_reads(engine) as conn:
        rows = run(conn, "daily_points", ledger_id=ledger_numbers.number_of(conn, ledger))
        return [(row.user_id, as_day(row.day), int(row.points)) for row in rows]
