"""Users as outputs show them: each stored number as its key, with the user's latest names.

Scores, leaderboards and audits are computed on the compact numbers the event tables hold
(ledger/user_keys.py); these functions turn the rows they return back into user references
just before they leave the library, and look names up only when the ledger has any.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import IO, Any, TypeVar

from sqlalchemy import Connection

from ledger.domain import UserNames, UserPoints
from ledger.importers.records import read_records
from ledger.standings import Standing
from ledger.store.user_keys import LOOKUP_CHUNK, UserName, any_names, latest_names, refs_of_numbers
from ledger.user_keys import is_direct

# The rows that name users: scores and leaderboard rows.
Row = TypeVar("Row", UserPoints, Standing)
USERS_FILE_FIELDS = ("user", "username", "name")


def labelled(conn: Connection, ledger_id: int, rows: Sequence[Row]) -> list[Row]:
    """`rows` (dataclasses with a stored `user_id` number, `username` and `name`) with each
    `user_id` as its user reference and the user's names filled in when known."""
    numbers = [_stored_number(row) for row in rows]
    allocated = [number for number in numbers if not is_direct(number)]
    refs = refs_of_numbers(conn, ledger_id, allocated) if allocated else {}
    names: dict[int, UserName] = {}
    if rows and any_names(conn, ledger_id):
        # Past a few chunks of users, reading every name of the ledger at once is cheaper.
        names = latest_names(conn, ledger_id, None if len(numbers) > LOOKUP_CHUNK else numbers)
    if not refs and not names:
        return list(rows)
    unnamed = UserName(None, None)
    return [
        replace(
            row,
            user_id=refs.get(number, number),
            username=names.get(number, unnamed).username,
            name=names.get(number, unnamed).name,
        )
        for row, number in zip(rows, numbers, strict=True)
    ]


def _stored_number(row: Row) -> int:
    """A row's user as the ledger stores it: always a number until `labelled` turns it back."""
    assert isinstance(row.user_id, int), "rows are labelled once"
    return row.user_id


def read_users_file(stream: IO[bytes], source: str, fmt: str) -> list[tuple[int, UserNames]]:
    """(line, names) for each record of a CSV or JSON Lines file with columns `user`,
    `username` and `name`; every bad record is reported with its line."""

    def build(record: dict[str, Any]) -> UserNames:
        unknown = sorted(set(record) - set(USERS_FILE_FIELDS))
        if unknown:
            raise ValueError(f"unknown column(s) {', '.join(unknown)} (expected {', '.join(USERS_FILE_FIELDS)})")
        if "user" not in record:
            raise ValueError("the column user is required")
        return UserNames(**record)

    return read_records(stream, source, fmt, build, what="users import")
