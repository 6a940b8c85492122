"""Rows of actions on their way from a reader (a file, a forum, Python objects) to the store:
readers build them, the store writes them, and neither needs the other's module."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

# Outside the class because a NamedTuple body may only declare fields (for type checkers).
PAYLOAD_FIELDS = ("user_id", "action", "occurred_at", "quantity", "attributes")


# Rows are NamedTuples rather than frozen dataclasses: as immutable, but quicker to build and
# smaller, which counts at ten million rows per batch.
class ActionRow(NamedTuple):
    """One action as it will be stored; `attributes` is canonical JSON text. `user_id` is the
    user's reference as read (ledger/user_keys.py): an int is stored as it is, a key given as
    text becomes its number when the batch is written."""

    source_key: str
    user_id: int | str
    action: str
    occurred_at: datetime
    quantity: int
    attributes: str

    def differing_fields(self, other: ActionRow) -> list[str]:
        return [name for name in PAYLOAD_FIELDS if getattr(self, name) != getattr(other, name)]


class LocatedRow(NamedTuple):
    """A row and where it came from, for error messages; `correction`, for a row of an action
    file that retracts or amends a recorded action: ("retracted" or "amended", when)."""

    source: str
    line: int | None
    row: ActionRow
    correction: tuple[str, datetime] | None = None


class ParsedRows(list):
    """Rows as a reader returns them, with the user keys given as text among them (in order
    of first appearance), gathered while parsing so the writer need not scan every row."""

    text_user_keys: dict[str, None]

    def __init__(self, rows: Iterable[LocatedRow] = (), text_user_keys: dict[str, None] | None = None) -> None:
        super().__init__(rows)
        self.text_user_keys = text_user_keys or {}
