"""Each ledger's number, by which actions and the projection tables (daily_scores,
user_totals, period_totals) name it in their keys: an integer at the front of a key sorts and
compares far faster than the ledger's name (migration 0006). Events keep the name, which is
what their hash covers; actions.ledger_id is derived from it.

A ledger gets its number before its first ingest or recalculation writes anything, in a
transaction of its own (`ensure`), so that the writer's own transaction, ingest and recalc
alike, finds it already there. Until then the ledger has no rows to name.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from ledger.store.engine import read_transaction, write_transaction
from ledger.store.statements import run

# What reads bind for a ledger that has no number yet: no row carries it.
UNNUMBERED = 0
# Handing out numbers takes its own turn (PostgreSQL advisory lock; SQLite's write lock):
# not the journal's or the projections', which may be held for minutes.
NUMBERING_LOCK_KEY = 0x5C0E1ED9


def number_of(conn: Connection, ledger: str) -> int:
    """`ledger`'s number, or UNNUMBERED if it has none yet."""
    number = run(conn, "ledger_number", ledger=ledger).scalar()
    return UNNUMBERED if number is None else int(number)


def ensure(engine: Engine, ledger: str) -> int:
    """`ledger`'s number, handed out now (and committed) if it has none. Call it before
    opening the transaction that writes rows naming it. Every ingest and recalculation calls
    this, and all but a ledger's first find the number, so that case is a plain read: no
    write lock (on SQLite it would wait behind any writer)."""
    with read_transaction(engine) as conn:
        number = number_of(conn, ledger)
    if number != UNNUMBERED:
        return number
    with write_transaction(engine, NUMBERING_LOCK_KEY) as conn:
        number = number_of(conn, ledger)
        if number == UNNUMBERED:
            run(conn, "add_ledger_number", ledger=ledger)
            number = number_of(conn, ledger)
        return number
