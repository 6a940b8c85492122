"""Appending event rows to a batch: sequence numbers, their canonical bytes in the hash, and
the insert (COPY on PostgreSQL, where an executemany INSERT runs one statement per row)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert

from ledger.store.canonical import BATCH_FIXED_COLUMNS, hashed_columns, spelled, table_event_text
from ledger.store.dialects import dialect_of
from ledger.store.journal import PendingBatch

# What COPY's text format needs escaped, or PostgreSQL refuses, beyond what canonical bytes
# escape (backslash, tab, newline).
_NOT_COPY_TEXT = ("\r", "\x00")


def insert_events(conn: Connection, batch: PendingBatch, table: Any, rows: list[dict[str, Any]]) -> None:
    """Append `rows` to `table` in `batch`: sequence numbers, hash, insert."""
    texts = []
    for row in rows:
        row["seq"] = batch.next_seq()
        row["batch_id"] = batch.batch_id
        row["recorded_at"] = batch.recorded_at
        text = table_event_text(table, row)
        batch.add_event_bytes(text.encode())
        texts.append(text)
    if not rows:
        return
    if dialect_of(conn).is_postgresql:
        _copy_rows(conn, table, rows, texts)
    else:
        conn.execute(insert(table), rows)


def _copy_rows(conn: Connection, table: Any, rows: list[dict[str, Any]], texts: list[str]) -> None:
    """`rows` into `table` by COPY, in the caller's transaction. Each row's canonical text
    (`texts`) is already its line in COPY's text format, the batch's columns aside: both
    spell fields alike, escape backslash, tab and newline, and spell NULL as \\N; only a
    field holding a carriage return or NUL needs the driver to spell the row."""
    names = [*hashed_columns(table), *BATCH_FIXED_COLUMNS]
    driver = conn.connection.driver_connection
    assert driver is not None
    tail = "".join(f"\t{spelled(rows[0][name])}" for name in BATCH_FIXED_COLUMNS) + "\n"
    # Each text is the table's name, a tab, the fields and a newline.
    start = len(table.name) + 1
    lines = "".join([text[start:-1] + tail for text in texts])
    with driver.cursor().copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        if any(char in lines for char in _NOT_COPY_TEXT):
            for row in rows:
                copy.write_row([row[name] for name in names])
        else:
            copy.write(lines)
