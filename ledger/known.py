"""Which ledgers a database holds, and which users a ledger has seen.

A ledger exists once something was recorded in it: an action, a schedule version, an
adjustment, a merge or a user's names. (A number alone does not count: before this check,
reading a mistyped name gave it one.) Reading a name that does not exist
is refused by the CLI, listing the names there are, so a typo is not taken for an empty
ledger.
"""

from __future__ import annotations

from sqlalchemy import Engine, exists, or_, select, union

from ledger.errors import UnknownLedger, UnknownUser
from ledger.store import ledger_numbers as numbers
from ledger.store.engine import read_transaction
from ledger.store.tables import actions, adjustments, ledger_numbers, merges, schedule_versions, user_names

# Event tables that name their ledger by its number (schedule_versions names it by name). A
# ledger may hold only adjustments (a platform's score events imported first) and be read.
NUMBERED_EVENTS = (actions, adjustments, merges, user_names)


def ledger_names(engine: Engine) -> list[str]:
    """Every ledger of the database, by name."""
    recorded = or_(*(exists().where(table.c.ledger_id == ledger_numbers.c.number) for table in NUMBERED_EVENTS))
    query = union(select(ledger_numbers.c.ledger).where(recorded), select(schedule_versions.c.ledger).distinct())
    with read_transaction(engine) as conn:
        return sorted(conn.execute(query).scalars())


def ledger_exists(engine: Engine, ledger: str) -> bool:
    """Whether anything was ever recorded in `ledger`."""
    number = select(ledger_numbers.c.number).where(ledger_numbers.c.ledger == ledger).scalar_subquery()
    recorded = [exists().where(table.c.ledger_id == number) for table in NUMBERED_EVENTS]
    query = select(or_(*recorded, exists().where(schedule_versions.c.ledger == ledger)))
    with read_transaction(engine) as conn:
        return bool(conn.execute(query).scalar_one())


def require_ledger(engine: Engine, ledger: str) -> None:
    """Raise UnknownLedger, naming the ledgers there are, unless `ledger` exists."""
    if not ledger_exists(engine, ledger):
        raise UnknownLedger(ledger, ledger_names(engine))


def user_seen(engine: Engine, ledger: str, user_id: int) -> bool:
    """Whether `ledger` has recorded any action or adjustment of `user_id`, or merged a user
    into it (each read through an index that leads with the user)."""
    with read_transaction(engine) as conn:
        number = numbers.number_of(conn, ledger)
        query = select(
            exists().where(actions.c.user_id == user_id, actions.c.ledger_id == number)
            | exists().where(adjustments.c.user_id == user_id, adjustments.c.ledger_id == number)
            | exists().where(merges.c.target_user == user_id, merges.c.ledger_id == number)
        )
        return bool(conn.execute(query).scalar_one())


def require_user(engine: Engine, ledger: str, user_id: int) -> None:
    """Raise UnknownUser unless `ledger` has seen `user_id` (see `user_seen`)."""
    if not user_seen(engine, ledger, user_id):
        raise UnknownUser(ledger, user_id)
