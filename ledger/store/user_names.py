"""Writing users' usernames and display names (table `user_names`, migration 0015).

Idempotent: a user whose latest recorded names are the ones given is skipped, so importing
the same file again adds nothing; a change is a new dated row, and the latest row wins.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from ledger.domain import Located, UserNames
from ledger.store import ledger_numbers
from ledger.store.corrections import CorrectionsWritten
from ledger.store.engine import write_transaction
from ledger.store.event_rows import insert_events
from ledger.store.journal import begin_batch, commit_batch
from ledger.store.tables import user_names
from ledger.store.user_keys import KeyRegistry, UserName, latest_names


def write_user_names(engine: Engine, ledger: str, items: Sequence[Located], *, origin: str | None = None) -> CorrectionsWritten:
    """Record the names of `items` (Located UserNames) as one batch; a user given twice
    keeps the last names given. Keys not seen before are registered in the same batch."""
    number = ledger_numbers.ensure(engine, ledger)
    with write_transaction(engine) as conn:
        registry = KeyRegistry(conn, number)
        wanted: dict[int, UserName] = {}
        for located in items:
            given: UserNames = located.item
            wanted[registry.number(given.user)] = UserName(given.username, given.name)
        recorded = latest_names(conn, number, wanted)
        rows = [
            {"ledger": ledger, "ledger_id": number, "user_number": user, "username": names.username, "name": names.name}
            for user, names in wanted.items()
            if recorded.get(user, UserName(None, None)) != names
        ]
        present = len(wanted) - len(rows)
        if not rows:
            return CorrectionsWritten(0, present, None)
        batch = begin_batch(conn, ledger, "user names", origin)
        registry.record_new(batch, ledger)
        insert_events(conn, batch, user_names, rows)
        commit_batch(conn, batch)
        return CorrectionsWritten(len(rows), present, batch.batch_id)
