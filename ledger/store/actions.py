"""Writing and reading action events.

`write_actions` is the one way actions enter the ledger. It is idempotent per
(ledger, source_key): the same key with the same payload again adds nothing, the same key with
a different payload is refused naming the fields that differ, and a batch is all-or-nothing.
On PostgreSQL rows travel by COPY; on SQLite by executemany.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import psycopg
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Connection, Engine, Text, any_, bindparam, column, exists, select, table
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError

from ledger import ledger_numbers
from ledger.errors import InputProblem, InvalidInput
from ledger.store.bulk_indexes import indexes_set_aside, sqlite_write_cache, takes_bulk_path
from ledger.store.canonical import action_bytes
from ledger.store.engine import PROJECTION_LOCK_KEY, vacuum_analyze, write_transaction
from ledger.store.journal import PendingBatch, begin_batch, commit_batch
from ledger.store.quantity_caps import quantity_problems
from ledger.store.tables import actions


# Rows are NamedTuples rather than frozen dataclasses: as immutable, but built in less than
# half the time and a third of the memory, which counts at ten million rows per batch.
class ActionRow(NamedTuple):
    """One action as it will be stored; `attributes` is canonical JSON text."""

    source_key: str
    user_id: int
    action: str
    occurred_at: datetime
    quantity: int
    attributes: str

    def differing_fields(self, other: ActionRow) -> list[str]:
        return [name for name in PAYLOAD_FIELDS if getattr(self, name) != getattr(other, name)]


# Outside ActionRow: a NamedTuple's class body may hold only its fields and methods.
PAYLOAD_FIELDS = ("user_id", "action", "occurred_at", "quantity", "attributes")


class LocatedRow(NamedTuple):
    """A row and where it came from, for error messages; `correction`, for a row of an action
    file that retracts or amends a recorded action: ("retracted" or "amended", when)."""

    source: str
    line: int | None
    row: ActionRow
    correction: tuple[str, datetime] | None = None


@dataclass(frozen=True)
class WriteResult:
    new: int
    already_present: int
    batch_id: int | None


Progress = Callable[[int], None]
# The unique key of (ledger, source_key) on actions (ledger/store/tables.py).
UNIQUE_KEY = "uq_actions_source_key_ledger"
# Rows per COPY/executemany chunk: big enough to amortise round trips, small enough to
# report progress smoothly.
CHUNK = 50_000


def write_actions(
    engine: Engine,
    ledger: str,
    rows: Sequence[LocatedRow],
    *,
    origin: str | None = None,
    progress: Progress | None = None,
) -> WriteResult:
    """Record `rows` in `ledger` as one all-or-nothing batch.

    A key repeated within `rows` collapses to its first row if the payloads agree and is
    refused if they differ. Finding repeats takes a set of every key (3.8 s for 10M rows),
    and almost no batch has any, so the batch is first written as it is: the unique key of
    actions refuses a repeat anyway, as the rows go in or as the key is rebuilt after a bulk
    load. Only then is it written again with its repeats collapsed, progress resuming where
    the first attempt left off."""
    number = ledger_numbers.ensure(engine, ledger)
    reported = _ReportedSoFar(progress)
    try:
        return _write(engine, ledger, number, rows, len(rows), origin, reported, repeats_collapsed=False)
    except _RepeatedKeys:
        pass
    unique, problems = _dedupe_input(rows)
    if problems:
        raise InvalidInput(problems, what="ingest")
    return _write(engine, ledger, number, unique, len(rows), origin, reported.resumed(), repeats_collapsed=True)


class _RepeatedKeys(Exception):
    """The batch holds a source_key more than once: collapse the repeats and write again."""


class _ReportedSoFar:
    """Forwards progress reports and counts them, so that a second attempt at the same batch
    can stay silent until it passes the first attempt's count."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.count = 0

    def __call__(self, rows: int) -> None:
        self.count += rows
        if self.progress:
            self.progress(rows)

    def resumed(self) -> Progress:
        already = self.count

        def report(rows: int) -> None:
            nonlocal already
            shown = max(0, rows - already)
            already = max(0, already - rows)
            if shown and self.progress:
                self.progress(shown)

        return report


def _write(
    engine: Engine,
    ledger: str,
    number: int,
    rows: Sequence[LocatedRow],
    offered: int,
    origin: str | None,
    progress: Progress,
    *,
    repeats_collapsed: bool,
) -> WriteResult:
    """One attempt at writing `rows` (`offered` rows before repeats were collapsed); unless
    `repeats_collapsed`, raises _RepeatedKeys (having written nothing) where a key occurs twice."""
    with write_transaction(engine) as conn:
        present, conflicts = _compare_with_recorded(conn, number, rows, repeats_collapsed, progress)
        if conflicts:
            raise InvalidInput(conflicts, what="ingest")
        new_rows = (
            [located.row for located in rows if located.row.source_key not in present]
            if present
            else [located.row for located in rows]
        )
        # The rows found recorded were reported as they were compared; the rest of those
        # not written are the repeats collapsed within the batch.
        collapsed = offered - len(new_rows) - len(present)
        if collapsed:
            progress(collapsed)
        if not new_rows:
            return WriteResult(0, offered, None)
        too_much = quantity_problems(conn, number, [located for located in rows if located.row.source_key not in present],
                                     _ledger_has_actions(conn, number))
        if too_much:
            raise InvalidInput(too_much, what="ingest")
        batch = begin_batch(conn, ledger, "actions", origin)
        bulk = takes_bulk_path(conn, "actions", len(new_rows))
        if bulk and conn.dialect.name == "postgresql":
            # Setting indexes aside takes ACCESS EXCLUSIVE on actions. A rebuild in parts holds
            # ACCESS SHARE in one session while it waits, in Python, for another that still has
            # to ask for it: queued behind our request, PostgreSQL would see no deadlock. So wait
            # for any recalculation first (the lock it holds throughout), then ask.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (PROJECTION_LOCK_KEY,))
        try:
            # Not analyzed inside: the VACUUM (ANALYZE) below does it.
            with indexes_set_aside(conn, "actions", analyze=False) if bulk else nullcontext():
                # The indexes are rebuilt after this cache is given back: SQLite sorts faster
                # in the small runs of its default cache (ledger/store/bulk_indexes.py).
                with sqlite_write_cache(conn):
                    _insert(conn, batch, ledger, number, new_rows, progress)
        except (DBAPIError, psycopg.errors.UniqueViolation) as exc:
            if repeats_collapsed or not _is_repeated_key(exc):
                raise
            raise _RepeatedKeys from exc
        commit_batch(conn, batch)
    if bulk:
        # A bulk load leaves the visibility map of every new page unset, and a full recalc
        # reads actions through an index-only scan that would otherwise visit the table for
        # each of them. Autovacuum would get there, but not before a recalc that follows.
        vacuum_analyze(engine, "actions")
    return WriteResult(len(new_rows), offered - len(new_rows), batch.batch_id)


def _is_repeated_key(exc: Exception) -> bool:
    """Whether `exc` is the unique key of (ledger, source_key) refusing a row: PostgreSQL names
    the constraint, SQLite the columns."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(orig, psycopg.errors.UniqueViolation):
        return orig.diag.constraint_name == UNIQUE_KEY or UNIQUE_KEY in str(orig)
    return isinstance(orig, sqlite3.IntegrityError) and "UNIQUE" in str(orig) and "source_key" in str(orig)


def _dedupe_input(rows: Sequence[LocatedRow]) -> tuple[list[LocatedRow], list[InputProblem]]:
    """Collapse repeats of a key within the input; a key repeated with another payload is an
    error. Only for a batch known to repeat a key (see `write_actions`)."""
    first_seen: dict[str, LocatedRow] = {}
    unique: list[LocatedRow] = []
    problems: list[InputProblem] = []
    for located in rows:
        earlier = first_seen.get(located.row.source_key)
        if earlier is None:
            first_seen[located.row.source_key] = located
            unique.append(located)
            continue
        differing = located.row.differing_fields(earlier.row)
        if differing:
            problems.append(
                InputProblem(
                    located.source,
                    located.line,
                    ", ".join(differing),
                    f"source_key {located.row.source_key!r} appears again (first at line "
                    f"{earlier.line}) with a different {', '.join(differing)}",
                )
            )
    return unique, problems


def _compare_with_recorded(
    conn: Connection, number: int, rows: Sequence[LocatedRow], repeats_collapsed: bool, progress: Progress
) -> tuple[set[str], list[InputProblem]]:
    """Which keys the ledger (number `number`) already holds, and the problems where the
    payload differs. Raises _RepeatedKeys if a key repeats in `rows` (unless
    `repeats_collapsed`): each copy must be compared with the first, not only the recorded.
    Keys are looked up CHUNK at a time, each chunk's recorded rows reported to `progress`
    once compared, so that a re-ingest, which writes little, still shows its progress."""
    if not rows or not _ledger_has_actions(conn, number):
        return set(), []
    by_key = {located.row.source_key: located for located in rows}
    if len(by_key) != len(rows) and not repeats_collapsed:
        raise _RepeatedKeys
    present: set[str] = set()
    problems: list[InputProblem] = []
    keys = list(by_key)
    for start in range(0, len(keys), CHUNK):
        found = _compare_chunk(conn, number, keys[start : start + CHUNK], by_key, present, problems)
        if found:
            progress(found)
    return present, problems


def _compare_chunk(
    conn: Connection, number: int, keys: list[str], by_key: dict[str, LocatedRow], present: set[str], problems: list[InputProblem]
) -> int:
    """Compare the recorded rows with `keys` to the given ones; returns how many were found."""
    found = 0
    for recorded in _recorded_with_keys(conn, number, keys):
        found += 1
        present.add(recorded.source_key)
        given = by_key[recorded.source_key]
        differing = given.row.differing_fields(recorded)
        if differing:
            shown = "; ".join(
                f"{name}: recorded {getattr(recorded, name)!s}, given {getattr(given.row, name)!s}"
                for name in differing
            )
            problems.append(
                InputProblem(
                    given.source,
                    given.line,
                    ", ".join(differing),
                    f"source_key {recorded.source_key!r} is already recorded with a different "
                    f"payload ({shown})",
                )
            )
    return found


def _ledger_has_actions(conn: Connection, number: int) -> bool:
    return conn.execute(select(exists().where(actions.c.ledger_id == number))).scalar_one()


def _recorded_with_keys(conn: Connection, number: int, keys: list[str]) -> Iterable[ActionRow]:
    """Recorded actions whose source_key is among `keys` (one chunk of a batch's keys)."""
    columns = (
        actions.c.source_key,
        actions.c.user_id,
        actions.c.action,
        actions.c.occurred_at,
        actions.c.quantity,
        actions.c.attributes,
    )
    if conn.dialect.name == "postgresql":
        # An array of keys, not a joined temporary table: PostgreSQL then looks each key up
        # in the unique key of actions, where a join to a chunk's keys could read the
        # whole index once per chunk (a merge join).
        keys_bound = bindparam("keys", keys, type_=postgresql.ARRAY(Text))
        query = select(*columns).where(actions.c.ledger_id == number, actions.c.source_key == any_(keys_bound))
        return [ActionRow(*row) for row in conn.execute(query)]
    staged = table("staged_keys", column("source_key"))
    conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS staged_keys (source_key text)")
    conn.exec_driver_sql("DELETE FROM staged_keys")
    conn.exec_driver_sql("INSERT INTO staged_keys (source_key) VALUES (?)", [(key,) for key in keys])
    query = select(*columns).join(staged, staged.c.source_key == actions.c.source_key).where(actions.c.ledger_id == number)
    found = [ActionRow(*row) for row in conn.execute(query)]
    conn.exec_driver_sql("DELETE FROM staged_keys")
    return found


# Column order chosen so that each row's COPY line starts with the same text as the event's
# canonical bytes (seq ... attributes, see ledger/store/canonical.py): one string per row
# serves both the hash and the COPY stream.
_COLUMNS = (
    "seq, ledger, source_key, user_id, action, occurred_at, quantity, attributes, "
    "day, batch_id, recorded_at, ledger_id"
)
# Characters that need escaping in canonical bytes or in COPY's text format, or that
# PostgreSQL refuses outright. A chunk free of them takes the fast path below.
_SPECIAL = ("\\", "\n", "\r", "\x00")
_FIELDS_PER_EVENT = 8


def _insert(conn: Connection, batch: PendingBatch, ledger: str, number: int, rows: list[ActionRow], progress: Progress | None) -> None:
    postgres = conn.dialect.name == "postgresql"
    copy_context = _copy_into_actions(conn) if postgres else None
    recorded = _timestamp(batch.recorded_at)
    statement = f"INSERT INTO actions ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
    with copy_context if copy_context is not None else nullcontext() as copy:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            first_seq = _reserve_seqs(batch, len(chunk))
            stamps = [row.occurred_at.isoformat(" ", "microseconds") for row in chunk]
            lines = _canonical_lines(ledger, first_seq, chunk, stamps)
            if lines is None:
                # Some field needs escaping or is of an unusual type: spell each event with
                # the reference function, so the hash is exactly what `verify` recomputes.
                for offset, row in enumerate(chunk):
                    batch.add_event_bytes(
                        action_bytes(first_seq + offset, ledger, row.source_key, row.user_id, row.action,
                                     row.occurred_at, row.quantity, row.attributes)
                    )
            else:
                batch.add_event_bytes(("action\t" + "\naction\t".join(lines) + "\n").encode())
            if copy is not None:
                _copy_chunk(copy, batch, ledger, number, first_seq, chunk, stamps, lines, recorded)
            else:
                conn.exec_driver_sql(statement, _sqlite_values(batch, ledger, number, first_seq, chunk, stamps, recorded))
            if progress:
                progress(len(chunk))


def _copy_into_actions(conn: Connection) -> AbstractContextManager[psycopg.Copy]:
    driver = conn.connection.driver_connection
    assert driver is not None  # an open connection's
    cursor = driver.cursor()
    # A writer thread sends each chunk while this one formats the next: the server parses
    # and stores rows on one core while Python prepares them on the other.
    return cursor.copy(f"COPY actions ({_COLUMNS}) FROM STDIN", writer=QueuedLibpqWriter(cursor))


def _reserve_seqs(batch: PendingBatch, count: int) -> int:
    """Hand out `count` consecutive sequence numbers at once (what `next_seq` does one by one)."""
    first = batch.first_seq + batch.event_count
    batch.event_count += count
    return first


def _canonical_lines(ledger: str, first_seq: int, chunk: list[ActionRow], stamps: list[str]) -> list[str] | None:
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


def _timestamp(moment: datetime) -> str:
    # The spelling of canonical bytes, which is also SQLAlchemy's SQLite DATETIME storage
    # format (so Core reads these back as datetimes and text comparisons order correctly)
    # and a literal PostgreSQL's COPY accepts.
    return moment.isoformat(" ", "microseconds")


def _copy_chunk(
    copy: psycopg.Copy, batch: PendingBatch, ledger: str, number: int, first_seq: int, chunk: list[ActionRow], stamps: list[str],
    lines: list[str] | None, recorded: str,
) -> None:
    if lines is None:
        for offset, row in enumerate(chunk):
            copy.write_row(
                (first_seq + offset, ledger, row.source_key, row.user_id, row.action, row.occurred_at,
                 row.quantity, row.attributes, row.occurred_at.date(), batch.batch_id, batch.recorded_at, number)
            )
        return
    # The fast path's lines are already valid COPY text: nothing in them needs escaping.
    tail = f"\t{batch.batch_id}\t{recorded}\t{number}\n"
    copy.write("".join([f"{line}\t{stamp[:10]}{tail}" for line, stamp in zip(lines, stamps, strict=True)]))


def _sqlite_values(
    batch: PendingBatch, ledger: str, number: int, first_seq: int, chunk: list[ActionRow], stamps: list[str], recorded: str
) -> list[tuple[Any, ...]]:
    batch_id = batch.batch_id
    return [
        (seq, ledger, row.source_key, row.user_id, row.action, stamp, row.quantity, row.attributes,
         stamp[:10], batch_id, recorded, number)
        for seq, row, stamp in zip(range(first_seq, first_seq + len(chunk)), chunk, stamps, strict=True)
    ]
