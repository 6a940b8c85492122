"""Appending event rows to a batch: sequence numbers, their canonical bytes in the hash, and
the insert (COPY on PostgreSQL, where an executemany INSERT runs one statement per row)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert

from ledger.store.canonical import table_event_bytes
from ledger.store.dialects import dialect_of
from ledger.store.journal import PendingBatch


def insert_events(conn: Connection, batch: PendingBatch, table: Any, rows: list[dict[str, Any]]) -> None:
    """Append `rows` to `table` in `batch`: sequence numbers, hash, insert."""
    for row in rows:
        row["seq"] = batch.next_seq()
        row["batch_id"] = batch.batch_id
        row["recorded_at"] = batch.recorded_at
        batch.add_event_bytes(table_event_bytes(table, row))
    if not rows:
        return
    if dialect_of(conn).is_postgresql:
        _copy_rows(conn, table, rows)
    else:
        conn.execute(insert(table), rows)


def _copy_rows(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """`rows` into `table` by COPY, in the caller's transaction."""
    names = [column.name for column in table.columns if column.name in rows[0]]
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor().copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[name] for name in names])
