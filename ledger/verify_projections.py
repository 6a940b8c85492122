"""Checking the projections against the events, and refusing projections ahead of the journal.

The projections (daily_scores, user_totals, period_totals, projection_state) are not covered
by the hash chain: anyone who can write them can change what `scores` and `leaderboard`
serve. `projection_differences` recomputes them from the events, as a recalculation does, and
lists every row that differs. `refuse_projections_ahead` stops reads from serving projections
whose state claims events the journal does not hold (moving it ahead would hide every new
event from reads for good).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select

from ledger import replay
from ledger.errors import LedgerError
from ledger.pricing import allow_big_aggregates
from ledger.store import ledger_numbers as numbers
from ledger.store.engine import read_transaction
from ledger.store.statements import run
from ledger.store.tables import projection_state

PERIOD_NAMES = {1: "month", 3: "quarter", 12: "year"}


class ProjectionsAhead(LedgerError):
    """The projection state claims events the journal does not hold."""


@dataclass(frozen=True)
class ProjectionDifference:
    """One projection row that differs from what the events give (None: no such row)."""

    ledger: str
    where: str
    expected: int | None
    stored: int | None

    def __str__(self) -> str:
        expected = "no row" if self.expected is None else self.expected
        stored = "no row" if self.stored is None else self.stored
        return f"ledger {self.ledger!r}: {self.where}: the events give {expected}, the projection holds {stored}"


def ahead_of_journal(conn: Connection, ledger: str) -> str | None:
    """Why `ledger`'s projection state cannot be right (it is ahead of the journal), or None."""
    through = run(conn, "projection_through_seq", ledger=ledger).scalar()
    if through is None:
        return None
    head = run(conn, "journal_through_seq").scalar_one()
    if through <= head:
        return None
    return (
        f"the projections of ledger {ledger!r} claim events through seq {through}, but the journal "
        f"ends at seq {head}: they were altered or restored from elsewhere; rebuild them with `recalc(full=True)`"
    )


def refuse_projections_ahead(engine: Engine, ledger: str) -> None:
    """Raise ProjectionsAhead rather than serve projections ahead of the journal."""
    with read_transaction(engine) as conn:
        reason = ahead_of_journal(conn, ledger)
    if reason:
        raise ProjectionsAhead(reason)


def projection_differences(engine: Engine) -> Iterator[ProjectionDifference | str]:
    """Every difference between each recalculated ledger's projections and the projections
    recomputed from its events, in one snapshot; a ledger whose projections are behind or
    ahead of the journal yields one line saying so instead (run `recalc` first)."""
    with read_transaction(engine) as conn:
        allow_big_aggregates(conn)
        ledgers = conn.execute(select(projection_state.c.ledger).order_by(projection_state.c.ledger)).scalars().all()
        for ledger in ledgers:
            yield from _ledger_differences(conn, ledger)


def _ledger_differences(conn: Connection, ledger: str) -> Iterator[ProjectionDifference | str]:
    ahead = ahead_of_journal(conn, ledger)
    if ahead:
        yield ahead
        return
    through = run(conn, "projection_through_seq", ledger=ledger).scalar_one()
    if run(conn, "has_new_events", ledger=ledger, after_seq=through).scalar():
        yield f"ledger {ledger!r}: events were recorded after its projections (seq {through}); run `scoreledger recalc` and check again"
        return
    number = numbers.number_of(conn, ledger)
    # Prices every event as the recalculation does, leaving each (user, day) in replay_priced.
    replay.points_in(conn, ledger)
    for user_id, day, expected, stored in run(conn, "daily_differences", ledger_id=number):
        yield ProjectionDifference(ledger, f"daily_scores user {user_id} day {day}", expected, stored)
    for user_id, expected, stored in run(conn, "total_differences", ledger_id=number):
        yield ProjectionDifference(ledger, f"user_totals user {user_id}", expected, stored)
    for months, start, user_id, expected, stored in run(conn, "period_differences", ledger_id=number):
        yield ProjectionDifference(
            ledger, f"period_totals {PERIOD_NAMES.get(months, months)} from {start} user {user_id}", expected, stored
        )
