"""Each ledger's number, by which the projection tables (daily_scores, user_totals,
period_totals) name it: an integer at the front of their keys sorts and compares far faster
than the ledger's name (migration 0006). Events keep the name.

A ledger gets its number from its first recalculation; until then it has no projected rows,
and reads of its projections find none.
"""

from __future__ import annotations

from sqlalchemy import Connection

from ledger.pricing import run

# What reads bind when a ledger has no number yet: no projected row carries it.
UNNUMBERED = 0


def number_of(conn: Connection, ledger: str) -> int:
    """`ledger`'s number, or UNNUMBERED if no recalculation has projected it yet."""
    number = run(conn, "ledger_number", ledger=ledger).scalar()
    return UNNUMBERED if number is None else int(number)


def assign(conn: Connection, ledger: str) -> int:
    """`ledger`'s number, handed out now if it has none. Call it inside the recalculation's
    transaction, which holds the projection lock."""
    run(conn, "assign_ledger_number", ledger=ledger)
    return number_of(conn, ledger)
