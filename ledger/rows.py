"""Rows of actions on their way from a reader (a file, a forum, Python objects) to the store:
readers build them, the store writes them, and neither needs the other's module."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple


# Rows are NamedTuples rather than frozen dataclasses: as immutable, but quicker to build and
# smaller, which counts at ten million rows per batch.
class ActionRow(NamedTuple):
    """One action as it will be stored; `attributes` is canonical JSON text."""

    source_key: str
    user_id: int
    action: str
    occurred_at: datetime
    quantity: int
    attributes: str

    PAYLOAD_FIELDS = ("user_id", "action", "occurred_at", "quantity", "attributes")

    def differing_fields(self, other: ActionRow) -> list[str]:
        return [name for name in self.PAYLOAD_FIELDS if getattr(self, name) != getattr(other, name)]


class LocatedRow(NamedTuple):
    """A row and where it came from, for error messages; `correction`, for a row of an action
    file that retracts or amends a recorded action: ("retracted" or "amended", when)."""

    source: str
    line: int | None
    row: ActionRow
    correction: tuple[str, datetime] | None = None
