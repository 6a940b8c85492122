"""What an attacker with database rights does to the event tables, for the tamper tests.

The append-only triggers stop ordinary writers. Someone who owns the database can still
switch them off: on PostgreSQL a superuser disables them (they are enabled ALWAYS, so
`session_replication_role = replica` alone is not enough); on SQLite anyone who can write
the file drops them. Each helper puts the triggers back afterwards, as a careful attacker
would, so only `verify` can tell.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, select, text

from ledger import Ledger
from ledger.store.append_only import append_only_ddl
from ledger.store.canonical import batch_header_bytes
from ledger.store.engine import open_engine
from ledger.store.journal import GENESIS_HASH, chain_hash
from ledger.store.tables import EVENT_TABLES, batches
from ledger.verify import _events_in_seq_order


@contextmanager
def triggers_off(book: Ledger, *, replica: bool = False) -> Iterator[Connection]:
    """A transaction in which the event tables' append-only triggers are off."""
    engine = open_engine(book.engine.url.render_as_string(hide_password=False))
    try:
        with engine.begin() as conn:
            postgres = conn.dialect.name == "postgresql"
            if postgres and replica:
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for table in EVENT_TABLES:
                if postgres:
                    conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
                else:
                    conn.exec_driver_sql(f"DROP TRIGGER {table}_no_update")
                    conn.exec_driver_sql(f"DROP TRIGGER {table}_no_delete")
            yield conn
            for table in EVENT_TABLES:
                if postgres:
                    conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
                    conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_append_only")
                    conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate")
                else:
                    for statement in append_only_ddl("sqlite", [table]):
                        conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def tamper(book: Ledger, *statements: str) -> None:
    """Run `statements` with the triggers off, then restore them."""
    with triggers_off(book) as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


def rehash_everything(book: Ledger) -> None:
    """What a thorough attacker does after a change: recompute every batch hash, so the chain
    is consistent again. Only a digest kept elsewhere reveals it."""
    with triggers_off(book) as conn:
        events = list(_events_in_seq_order(conn))
        prev = GENESIS_HASH
        for batch in conn.execute(select(batches).order_by(batches.c.batch_id)).all():
            digest = hashlib.sha256()
            for event in events:
                if batch.first_seq <= event.seq <= batch.last_seq:
                    digest.update(event.canonical)
            header = batch_header_bytes(
                batch.batch_id,
                batch.ledger,
                batch.kind,
                batch.origin,
                batch.recorded_at,
                batch.first_seq,
                batch.event_count,
            )
            new_hash = chain_hash(prev, header, digest.digest())
            conn.execute(
                text("UPDATE batches SET prev_hash = :prev, hash = :hash WHERE batch_id = :id"),
                {"prev": prev, "hash": new_hash, "id": batch.batch_id},
            )
            prev = new_hash
        # ... and the running totals that bound each ledger's scores, which verify checks too.
        conn.exec_driver_sql(
            "UPDATE ledger_numbers SET "
            "quantity_total = COALESCE((SELECT SUM(quantity) FROM actions WHERE ledger_id = number), 0)"
            " + COALESCE((SELECT SUM(new_quantity - old_quantity) FROM corrections WHERE ledger_id = number"
            " AND new_quantity > old_quantity), 0), "
            "adjustment_total = COALESCE((SELECT SUM(ABS(points)) FROM adjustments WHERE ledger_id = number), 0)"
        )
