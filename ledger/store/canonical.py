"""Canonical bytes of each event kind: what the journal hashes and `verify` recomputes.

One event, one spelling: fields in a fixed order, tab-separated, times in ISO 8601 (naive
UTC), JSON with sorted keys. Built from stored column values so verification needs nothing
but the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from typing import Any


def _text(value: object) -> str:
    # The common cases first, by exact type (bool is an int subclass, so it never matches
    # `int` here): `verify` spells every stored field through this.
    if type(value) is str:
        if "\\" in value or "\t" in value or "\n" in value:
            return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
        return value
    if type(value) is int:
        return str(value)
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    # Tabs and newlines inside text would make two different events spell the same.
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def event_bytes(kind: str, *fields: object) -> bytes:
    """`kind` then each field, tab-separated, newline-terminated, UTF-8."""
    return event_text(kind, *fields).encode()


def event_text(kind: str, *fields: object) -> str:
    """`event_bytes` before encoding."""
    return "\t".join([kind, *map(_text, fields)]) + "\n"


def spelled(value: object) -> str:
    """One field as canonical bytes spell it."""
    return _text(value)


def action_bytes(
    seq: int,
    ledger: str,
    source_key: str,
    user_id: int,
    action: str,
    occurred_at: datetime,
    quantity: int,
    attributes: str,
) -> bytes:
    return event_bytes("action", seq, ledger, source_key, user_id, action, occurred_at, quantity, attributes)


def schedule_version_bytes(seq: int, ledger: str, retroactive: bool, document: str) -> bytes:
    """A schedule version: its whole document (rules, points tables, levels) as canonical JSON."""
    return event_bytes("schedule_version", seq, ledger, retroactive, document)


def batch_header_bytes(
    batch_id: int,
    ledger: str,
    kind: str,
    origin: str | None,
    recorded_at: datetime,
    first_seq: int,
    event_count: int,
) -> bytes:
    """A batch's own fields, as hashed into its link of the chain."""
    return event_bytes("batch", batch_id, ledger, kind, origin, recorded_at, first_seq, event_count)


# Every event row carries these, fixed by its batch: `verify` checks them against the batch row
# instead of hashing them once per event.
BATCH_FIXED_COLUMNS = ("batch_id", "recorded_at")


def table_event_bytes(table: Any, values: Mapping[str, object]) -> bytes:
    """Canonical bytes of one row of an event table without a dedicated spelling above.

    `table` is the SQLAlchemy Table; every column except those in BATCH_FIXED_COLUMNS, in
    table order, under the table's name as the kind. Writers pass the values they insert
    (naive UTC datetimes, dates, ints, str, bool, None); `verify` passes the stored row.
    """
    return table_event_text(table, values).encode()


def table_event_text(table: Any, values: Mapping[str, object]) -> str:
    """`table_event_bytes` before encoding."""
    return event_text(table.name, *[values[name] for name in hashed_columns(table)])


@cache
def hashed_columns(table: Any) -> tuple[str, ...]:
    """The names of `table`'s hashed columns, in table order (once per table: a batch hashes
    thousands of rows)."""
    return tuple(column.name for column in table.columns if column.name not in BATCH_FIXED_COLUMNS)
