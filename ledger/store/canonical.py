"""Canonical bytes of each event kind: what the journal hashes and `verify` recomputes.

One event, one spelling: fields in a fixed order, tab-separated, times in ISO 8601 (naive
UTC), JSON with sorted keys. Built from stored column values so verification needs nothing
but the database.
"""

from __future__ import annotations

from datetime import date, datetime


def _text(value: object) -> str:
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
    return ("\t".join([kind, *(_text(value) for value in fields)]) + "\n").encode()


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
