"""Appending a chunk of new actions: their sequence numbers, their canonical bytes fed to the
batch hash, and their rows sent to the table (COPY on PostgreSQL, executemany on SQLite).

Each action's `day` is the calendar day of its `occurred_at` in the ledger's time zone
(UTC unless the ledger was created with another, see ledger/store/ledger_zones.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import Copy
from sqlalchemy import Connection

from ledger.rows import COPY_LINE_FIELDS, ActionRow, CopyLines
from ledger.store.canonical import action_bytes
from ledger.store.event_rows import queued_copy
from ledger.store.journal import PendingBatch

# Column order chosen so that each row's COPY line starts with the same text as the event's
# canonical bytes (seq ... attributes, see ledger/store/canonical.py): one string per row
# serves both the hash and the COPY stream; a CopyLines line is the middle of it.
_COLUMNS = f"seq, ledger, {', '.join(COPY_LINE_FIELDS)}, batch_id, recorded_at, ledger_id"
# Characters that need escaping in canonical bytes or in COPY's text format, or that
# PostgreSQL refuses outright. A chunk free of them takes the fast path below.
_SPECIAL = ("\\", "\n", "\r", "\x00")
_FIELDS_PER_EVENT = 8
_SQLITE_INSERT = f"INSERT INTO actions ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"


def open_copy(conn: Connection) -> AbstractContextManager[Copy]:
    """A COPY into actions on `conn` (PostgreSQL), to be used as a context manager."""
    return queued_copy(conn, "actions", _COLUMNS)


def append_chunk(
    conn: Connection, copy: Copy | None, batch: PendingBatch, ledger: str, number: int, chunk: Sequence[ActionRow], zone: ZoneInfo | None
) -> None:
    """Append `chunk` (ActionRow) to `batch`: through `copy` on PostgreSQL, else by
    executemany on `conn`. `zone`: the ledger's time zone, None for UTC."""
    recorded = timestamp(batch.recorded_at)
    first_seq = _reserve_seqs(batch, len(chunk))
    stamps = [row.occurred_at.isoformat(" ", "microseconds") for row in chunk]
    days = [stamp[:10] for stamp in stamps] if zone is None else [_local_day(row.occurred_at, zone) for row in chunk]
    lines = _canonical_lines(ledger, first_seq, chunk, stamps)
    if lines is None:
        # Some field needs escaping or is of an unusual type: spell each event with the
        # reference function, so the hash is exactly what `verify` recomputes.
        for offset, row in enumerate(chunk):
            batch.add_event_bytes(
                action_bytes(
                    first_seq + offset, ledger, row.source_key, int(row.user_id), row.action, row.occurred_at, row.quantity, row.attributes
                )
            )
    else:
        batch.add_event_bytes(("action\t" + "\naction\t".join(lines) + "\n").encode())
    if copy is not None:
        _copy_chunk(copy, batch, ledger, number, first_seq, chunk, days, lines, recorded)
    else:
        conn.exec_driver_sql(_SQLITE_INSERT, _sqlite_values(batch, ledger, number, first_seq, chunk, stamps, days, recorded))


def append_lines(copy: Copy, batch: PendingBatch, ledger: str, number: int, chunk: CopyLines) -> bool:
    """Append `chunk` (ledger/rows.py CopyLines) to `batch` through `copy`, each line as it
    reads, for a ledger whose days are UTC days; False, appending nothing, when a line needs
    `append_chunk` (a field COPY escapes, a day not spelled YYYY-MM-DD, the ledger's name
    holding a character canonical bytes escape)."""
    day_width = len("\tYYYY-MM-DD")
    if (
        not chunk.escapes_nothing
        or any(line[-day_width] != "\t" for line in chunk.lines)
        or any(char in ledger for char in (*_SPECIAL, "\t"))
    ):
        return False
    first_seq = _reserve_seqs(batch, len(chunk))
    # Each line is the event's canonical bytes from source_key on, then a tab and its day.
    heads = [f"{seq}\t{ledger}\t{line}" for seq, line in zip(range(first_seq, first_seq + len(chunk)), chunk.lines, strict=True)]
    batch.add_event_bytes(("action\t" + "\naction\t".join([head[:-day_width] for head in heads]) + "\n").encode())
    tail = f"\t{batch.batch_id}\t{timestamp(batch.recorded_at)}\t{number}\n"
    copy.write("".join([f"{head}{tail}" for head in heads]))
    return True


def _local_day(moment: datetime, zone: ZoneInfo) -> str:
    return moment.replace(tzinfo=UTC).astimezone(zone).date().isoformat()


def _reserve_seqs(batch: PendingBatch, count: int) -> int:
    """Hand out `count` consecutive sequence numbers at once (what `next_seq` does one by one)."""
    first = batch.first_seq + batch.event_count
    batch.event_count += count
    return first


def _canonical_lines(ledger: str, first_seq: int, chunk: Sequence[ActionRow], stamps: list[str]) -> list[str] | None:
    """Each event's canonical bytes without the leading kind and trailing newline, or None
    when the chunk needs the careful path.

    Equal to `canonical.action_bytes` when no text field holds a backslash, tab, newline,
    carriage return or NUL and the numbers are plain ints: then `_text` escapes nothing and
    spells ints with `str`. Checking the joined chunk once is far cheaper than per field.
    """
    if not all(type(row.user_id) is int and type(row.quantity) is int for row in chunk):
        return None
    lines = [
        f"{seq}\t{ledger}\t{row.source_key}\t{row.user_id}\t{row.action}\t{stamp}\t{row.quantity}\t{row.attributes}"
        for seq, row, stamp in zip(range(first_seq, first_seq + len(chunk)), chunk, stamps, strict=True)
    ]
    joined = "".join(lines)
    if any(char in joined for char in _SPECIAL) or joined.count("\t") != (_FIELDS_PER_EVENT - 1) * len(lines):
        return None
    return lines


def timestamp(moment: datetime) -> str:
    # The spelling of canonical bytes, which is also SQLAlchemy's SQLite DATETIME storage
    # format (so Core reads these back as datetimes and text comparisons order correctly)
    # and a literal PostgreSQL's COPY accepts.
    return moment.isoformat(" ", "microseconds")


def _copy_chunk(
    copy: Copy,
    batch: PendingBatch,
    ledger: str,
    number: int,
    first_seq: int,
    chunk: Sequence[ActionRow],
    days: list[str],
    lines: list[str] | None,
    recorded: str,
) -> None:
    if lines is None:
        for offset, (row, day) in enumerate(zip(chunk, days, strict=True)):
            copy.write_row(
                (
                    first_seq + offset,
                    ledger,
                    row.source_key,
                    row.user_id,
                    row.action,
                    row.occurred_at,
                    row.quantity,
                    row.attributes,
                    day,
                    batch.batch_id,
                    batch.recorded_at,
                    number,
                )
            )
        return
    # The fast path's lines are already valid COPY text: nothing in them needs escaping.
    tail = f"\t{batch.batch_id}\t{recorded}\t{number}\n"
    copy.write("".join([f"{line}\t{day}{tail}" for line, day in zip(lines, days, strict=True)]))


def _sqlite_values(
    batch: PendingBatch,
    ledger: str,
    number: int,
    first_seq: int,
    chunk: Sequence[ActionRow],
    stamps: list[str],
    days: list[str],
    recorded: str,
) -> list[tuple[Any, ...]]:
    batch_id = batch.batch_id
    return [
        (seq, ledger, row.source_key, row.user_id, row.action, stamp, row.quantity, row.attributes, day, batch_id, recorded, number)
        for seq, row, stamp, day in zip(range(first_seq, first_seq + len(chunk)), chunk, stamps, days, strict=True)
    ]
