"""Appending event rows to a batch: sequence numbers, their canonical bytes in the hash, and
the insert (COPY on PostgreSQL, where an executemany INSERT runs one statement per row)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from psycopg import Copy
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Connection, insert

from ledger.store.canonical import BATCH_FIXED_COLUMNS, hashed_columns, spelled, table_event_text
from ledger.store.dialects import dialect_of
from ledger.store.journal import PendingBatch

# What COPY's text format needs escaped, or PostgreSQL refuses, beyond what canonical bytes
# escape (backslash, tab, newline).
_NOT_COPY_TEXT = ("\r", "\x00")


# Rows spelled and hashed between two writes to the COPY stream: the server stores one chunk
# while Python spells the next.
COPY_CHUNK_ROWS = 1_000


def insert_events(conn: Connection, batch: PendingBatch, table: Any, rows: list[dict[str, Any]]) -> None:
    """Append `rows` to `table` in `batch`: sequence numbers, hash, insert."""
    if not rows:
        return
    if not dialect_of(conn).is_postgresql:
        _stamped(batch, table, rows)
        conn.execute(insert(table), rows)
        return
    names = [*hashed_columns(table), *BATCH_FIXED_COLUMNS]
    with queued_copy(conn, table.name, ", ".join(names)) as copy:
        tail = ""
        for start in range(0, len(rows), COPY_CHUNK_ROWS):
            chunk = rows[start : start + COPY_CHUNK_ROWS]
            texts = _stamped(batch, table, chunk)
            tail = tail or "".join(f"\t{spelled(chunk[0][name])}" for name in BATCH_FIXED_COLUMNS) + "\n"
            _write_lines(copy, table, names, chunk, texts, tail)


def _stamped(batch: PendingBatch, table: Any, rows: list[dict[str, Any]]) -> list[str]:
    """Give `rows` their sequence numbers and batch columns, add their canonical bytes to the
    batch's hash; returns each row's canonical text."""
    texts = []
    for row in rows:
        row["seq"] = batch.next_seq()
        row["batch_id"] = batch.batch_id
        row["recorded_at"] = batch.recorded_at
        text = table_event_text(table, row)
        batch.add_event_bytes(text.encode())
        texts.append(text)
    return texts


def queued_copy(conn: Connection, table: str, columns: str) -> AbstractContextManager[Copy]:
    """A COPY into `table` (`columns`: its column list) in the caller's transaction on
    PostgreSQL, to be used as a context manager. A writer thread sends each chunk while the
    caller spells the next: the server stores rows on one core while Python prepares them on
    the other."""
    driver = conn.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    return cursor.copy(f"COPY {table} ({columns}) FROM STDIN", writer=QueuedLibpqWriter(cursor))


def _write_lines(copy: Copy, table: Any, names: list[str], rows: list[dict[str, Any]], texts: list[str], tail: str) -> None:
    """`rows` into the COPY stream. Each row's canonical text (`texts`) is already its line in
    COPY's text format, the batch's columns (`tail`) aside: both spell fields alike, escape
    backslash, tab and newline, and spell NULL as \\N; only a field holding a carriage return
    or NUL needs the driver to spell the row."""
    # Each text is the table's name, a tab, the fields and a newline.
    start = len(table.name) + 1
    lines = "".join([text[start:-1] + tail for text in texts])
    if any(char in lines for char in _NOT_COPY_TEXT):
        for row in rows:
            copy.write_row([row[name] for name in names])
    else:
        copy.write(lines)
