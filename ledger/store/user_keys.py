"""Storing user keys and names (tables `user_keys` and `user_names`, migration 0015).

A writer turns the user references of one batch into numbers with a `KeyRegistry`, made
under the journal lock: one query for the keys the batch names, new numbers handed out in
memory, and the new keys recorded as events of the same batch, before the events that use
them. Direct integer keys never reach the table (ledger/user_keys.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple, cast

from sqlalchemy import Connection, func, select

from ledger.store.event_rows import insert_events
from ledger.store.journal import PendingBatch
from ledger.store.tables import user_keys, user_names
from ledger.user_keys import FIRST_ALLOCATED, UserRef, is_direct

# Keys looked up per statement (SQLite binds at most 32,766 parameters).
LOOKUP_CHUNK = 5_000


class UserName(NamedTuple):
    """A user's username and display name, either possibly unknown."""

    username: str | None
    name: str | None


class KeyRegistry:
    """The numbers of one ledger's user keys within one write transaction."""

    def __init__(self, conn: Connection, ledger_id: int) -> None:
        self.conn = conn
        self.ledger_id = ledger_id
        self.known: dict[str, int] = {}
        self.new: list[tuple[str, int]] = []
        self._next: int | None = None

    def resolve(self, refs: Iterable[UserRef], *, allocate: bool = True) -> dict[str, int]:
        """Number of each key among `refs` that is text (ints are their own number); with
        `allocate`, keys never seen get the ledger's next free numbers, in the order given."""
        wanted = [ref for ref in dict.fromkeys(refs) if type(ref) is str and ref not in self.known]
        if wanted:
            self.known.update(numbers_of_keys(self.conn, self.ledger_id, wanted))
            if allocate:
                for key in wanted:
                    if key not in self.known:
                        self.known[key] = self._allocate()
                        self.new.append((key, self.known[key]))
        return self.known

    def number(self, ref: UserRef) -> int:
        """The number of `ref`, allocating one for a new key."""
        if isinstance(ref, int):
            return ref
        return self.resolve([ref])[ref]

    def key_of(self, number: int) -> UserRef:
        """The reference of a stored number, new keys of this batch included (for messages)."""
        for key, known in self.known.items():
            if known == number:
                return key
        return refs_of_numbers(self.conn, self.ledger_id, [number]).get(number, number)

    def _allocate(self) -> int:
        if self._next is None:
            highest = self.conn.execute(select(func.max(user_keys.c.user_number)).where(user_keys.c.ledger_id == self.ledger_id)).scalar()
            self._next = FIRST_ALLOCATED if highest is None else int(highest) + 1
        number = self._next
        self._next += 1
        return number

    def record_new(self, batch: PendingBatch, ledger: str) -> None:
        """Append the keys allocated so far to `batch` (call before its other events)."""
        rows = [{"ledger": ledger, "ledger_id": self.ledger_id, "user_key": key, "user_number": number} for key, number in self.new]
        insert_events(self.conn, batch, user_keys, rows)
        self.new = []


def numbers_of_keys(conn: Connection, ledger_id: int, keys: list[str]) -> dict[str, int]:
    """The recorded number of each of `keys` that has one."""
    found: dict[str, int] = {}
    for start in range(0, len(keys), LOOKUP_CHUNK):
        query = select(user_keys.c.user_key, user_keys.c.user_number).where(
            user_keys.c.ledger_id == ledger_id, user_keys.c.user_key.in_(keys[start : start + LOOKUP_CHUNK])
        )
        found.update({key: int(number) for key, number in conn.execute(query)})
    return found


def number_of_ref(conn: Connection, ledger_id: int, ref: UserRef) -> int | None:
    """The number of a user reference; None for a key the ledger never recorded."""
    if type(ref) is int:
        return ref
    key = cast(str, ref)
    return numbers_of_keys(conn, ledger_id, [key]).get(key)


def refs_of_numbers(conn: Connection, ledger_id: int, numbers: Iterable[int]) -> dict[int, UserRef]:
    """Each stored user number as the reference of its user (direct numbers are their own)."""
    refs: dict[int, UserRef] = {}
    allocated: list[int] = []
    for number in numbers:
        if is_direct(number):
            refs[number] = number
        else:
            allocated.append(number)
    if allocated:
        for start in range(0, len(allocated), LOOKUP_CHUNK):
            query = select(user_keys.c.user_number, user_keys.c.user_key).where(
                user_keys.c.ledger_id == ledger_id, user_keys.c.user_number.in_(allocated[start : start + LOOKUP_CHUNK])
            )
            refs.update({int(number): key for number, key in conn.execute(query)})
    return refs


def latest_names(conn: Connection, ledger_id: int, numbers: Iterable[int] | None = None) -> dict[int, UserName]:
    """Each user's latest recorded names (of `numbers`, or of everyone named)."""
    query = select(user_names.c.user_number, user_names.c.username, user_names.c.name).where(user_names.c.ledger_id == ledger_id)
    wanted = None if numbers is None else list(dict.fromkeys(numbers))
    chunks: list[list[int] | None] = (
        [None] if wanted is None else [wanted[i : i + LOOKUP_CHUNK] for i in range(0, len(wanted), LOOKUP_CHUNK)]
    )
    names: dict[int, UserName] = {}
    for chunk in chunks:
        chunk_query = query if chunk is None else query.where(user_names.c.user_number.in_(chunk))
        for number, username, name in conn.execute(chunk_query.order_by(user_names.c.seq)).all():
            names[int(number)] = UserName(username, name)
    return names


def any_names(conn: Connection, ledger_id: int) -> bool:
    """Whether any user of the ledger has a recorded name (outputs then gain name columns)."""
    return conn.execute(select(user_names.c.seq).where(user_names.c.ledger_id == ledger_id).limit(1)).first() is not None
