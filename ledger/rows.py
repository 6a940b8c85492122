"""Rows of actions on their way from a reader (a file, a forum, Python objects) to the store:
readers build them, the store writes them, and neither needs the other's module."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any, NamedTuple, overload

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


# The fields of a CopyLines line, tab-separated: an action's columns in the order the store's
# COPY into actions takes them (ledger/store/action_insert.py), `day` the UTC day of occurred_at.
COPY_LINE_FIELDS = ("source_key", "user_id", "action", "occurred_at", "quantity", "attributes", "day")


class CopyLines(Sequence[LocatedRow]):
    """A chunk of actions as PostgreSQL's COPY text format spells them (COPY_LINE_FIELDS, no
    trailing newline; user ids are integers, the occurred_at to the microsecond as
    `datetime.isoformat(" ", "microseconds")` spells it), as a forum's database sends them,
    from a source without line numbers. The writer appends such lines nearly as they are
    (ledger/store/action_insert.py `append_lines`); they are parsed into ActionRows only
    where rows are looked at, and wrapped as LocatedRows only when read one at a time."""

    def __init__(self, source: str, lines: list[str]) -> None:
        self.source = source
        self.lines = lines
        self._parsed: list[ActionRow] | None = None
        # Users are named by integers here: no key given as text for the writer to number.
        self.text_user_keys: dict[str, None] = {}

    @property
    def rows(self) -> list[ActionRow]:
        if self._parsed is None:
            self._parsed = [_parsed_line(line) for line in self.lines]
        return self._parsed

    def __len__(self) -> int:
        return len(self.lines)

    @overload
    def __getitem__(self, index: int) -> LocatedRow: ...

    @overload
    def __getitem__(self, index: slice) -> CopyLines: ...

    def __getitem__(self, index: int | slice) -> LocatedRow | CopyLines:
        if isinstance(index, slice):
            return CopyLines(self.source, self.lines[index])
        return LocatedRow(self.source, None, _parsed_line(self.lines[index]))

    def __iter__(self) -> Iterator[LocatedRow]:
        source = self.source
        return (LocatedRow(source, None, row) for row in self.rows)

    @cached_property
    def escapes_nothing(self) -> bool:
        """Whether no field holds a character COPY escapes (or a NULL): then each line is its
        fields joined by tabs, and the fields are as they read."""
        return "\\" not in "".join(self.lines)

    def quantity(self) -> int:
        """The sum of the rows' quantities."""
        if not self.escapes_nothing:
            return sum(row.quantity for row in self.rows)
        # The quantity is the fifth field: no line is split further than that.
        return sum([int(line.split("\t", 5)[4]) for line in self.lines])


def _parsed_line(line: str) -> ActionRow:
    fields: list[Any] = line.split("\t")
    if "\\" in line:
        fields = [_copy_field(field) for field in fields]
    source_key, user_id, action, occurred_at, quantity, attributes, _day = fields
    return ActionRow(source_key, int(user_id), action, datetime.fromisoformat(occurred_at), int(quantity), attributes)


# PostgreSQL's COPY text format escapes these characters with a backslash (and spells NULL \N).
_COPY_UNESCAPED = {"t": "\t", "n": "\n", "r": "\r", "b": "\b", "f": "\f", "v": "\v"}


def _copy_field(field: str) -> Any:
    """A COPY text field as the value it spells: NULL as None, escapes undone."""
    if field == "\\N":
        return None
    return re.sub(r"\\(.)", lambda match: _COPY_UNESCAPED.get(match.group(1), match.group(1)), field)


def action_rows(chunk: Sequence[LocatedRow]) -> list[ActionRow]:
    """The ActionRows of a chunk (CopyLines: parsed once)."""
    return chunk.rows if isinstance(chunk, CopyLines) else [located.row for located in chunk]


def quantity_of(chunk: Sequence[LocatedRow]) -> int:
    """The sum of a chunk's quantities (CopyLines: without parsing the lines whole)."""
    return chunk.quantity() if isinstance(chunk, CopyLines) else sum(located.row.quantity for located in chunk)
