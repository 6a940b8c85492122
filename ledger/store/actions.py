"""Writing and reading action events.

`write_actions` is the one way actions enter the ledger. It is idempotent per
(ledger, source_key): the same key with the same payload again adds nothing, the same key with
a different payload is refused naming the fields that differ, and a batch is all-or-nothing.
A batch is read and written a chunk at a time inside one transaction, so that recording a
file of any size holds one chunk of it in memory; on PostgreSQL rows travel by COPY
(ledger/store/action_insert.py), on SQLite by executemany.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, suppress
from dataclasses import dataclass
from itertools import chain
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

import psycopg
from psycopg import Copy
from sqlalchemy import Connection, Engine, Text, any_, bindparam, column, exists, select, table
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError

from ledger.errors import InputProblem, InvalidInput
from ledger.problem_log import ProblemLog, reported
from ledger.rows import ActionRow, CopyLines, LocatedRow, ParsedRows, action_rows
from ledger.store import ledger_numbers
from ledger.store.action_insert import append_chunk, append_lines, open_copy
from ledger.store.bulk_indexes import indexes_set_aside, sqlite_write_cache, statistics_stale, takes_bulk_path
from ledger.store.dialects import dialect_of
from ledger.store.engine import PROJECTION_LOCK_KEY, vacuum_analyze, write_transaction
from ledger.store.journal import PendingBatch, begin_batch, commit_batch
from ledger.store.quantity_caps import QuantityBudget
from ledger.store.tables import ACTION_ROW_COLUMNS, actions
from ledger.store.user_keys import KeyRegistry
from ledger.user_keys import is_direct


@dataclass(frozen=True)
class WriteResult:
    new: int
    already_present: int
    batch_id: int | None
    # Warnings about the input that did not stop it (e.g. action types nothing prices).
    warnings: tuple[str, ...] = ()


Progress = Callable[[int], None]
# The unique key of (ledger, source_key) on actions (ledger/store/tables.py).
UNIQUE_KEY = "uq_actions_source_key_ledger"
# Rows per COPY/executemany chunk: big enough to amortise round trips, small enough to
# report progress smoothly.
CHUNK = 50_000


@runtime_checkable
class RowSource(Protocol):
    """Rows to record, read in chunks; each call of `chunks` reads them again from the start
    (a writer that has to retry reads its input twice rather than hold it). `problems`: those
    found by the latest read (rows that were not valid); `estimated_rows`: how many rows the
    whole input holds, once a chunk has been read, if known."""

    @property
    def problems(self) -> ProblemLog | list[InputProblem]: ...

    def chunks(self) -> Iterator[Sequence[LocatedRow]]: ...

    def estimated_rows(self) -> int | None: ...


class SequenceSource:
    """Rows already in memory, as a RowSource."""

    def __init__(self, rows: Sequence[LocatedRow]) -> None:
        self.rows = rows
        self.problems: list[InputProblem] = []

    def chunks(self) -> Iterator[Sequence[LocatedRow]]:
        for start in range(0, len(self.rows), CHUNK):
            yield self.rows[start : start + CHUNK]

    def estimated_rows(self) -> int | None:
        return len(self.rows)


def write_actions(
    engine: Engine,
    ledger: str,
    rows: Sequence[LocatedRow] | RowSource,
    *,
    origin: str | None = None,
    progress: Progress | None = None,
    zone: ZoneInfo | None = None,
    before_commit: Callable[[], None] | None = None,
) -> WriteResult:
    """Record `rows` in `ledger` as one all-or-nothing batch, a chunk at a time.

    A key repeated within `rows` collapses to its first row if the payloads agree and is
    refused if they differ. Almost no batch repeats a key, and into a ledger that holds no
    actions yet the batch is first written without looking any key up: the unique key of
    actions refuses a repeat anyway, as the rows go in or as the key is rebuilt after a bulk
    load. Only then is it read and written again, each chunk's keys looked up among those
    already written, progress resuming where the first attempt left off. A ledger that holds
    actions already has each chunk's keys looked up from the start. `zone`: the ledger's time
    zone for the days of actions (None: UTC). `before_commit` runs once every row is read and
    written, before the batch commits: an InvalidInput it raises refuses the batch."""
    source = rows if isinstance(rows, RowSource) else SequenceSource(rows)
    number = ledger_numbers.ensure(engine, ledger)
    reported = _ReportedSoFar(progress)
    try:
        return _write(engine, ledger, number, source, origin, reported, zone, before_commit, checked=False)
    except _RepeatedKeys:
        pass
    return _write(engine, ledger, number, source, origin, reported.resumed(), zone, before_commit, checked=True)


class _RepeatedKeys(Exception):
    """The batch holds a source_key more than once: write it again looking keys up."""


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
    source: RowSource,
    origin: str | None,
    progress: Progress,
    zone: ZoneInfo | None,
    before_commit: Callable[[], None] | None,
    *,
    checked: bool,
) -> WriteResult:
    """One attempt at writing `source`; unless `checked`, raises _RepeatedKeys (having written
    nothing) where a key occurs twice."""
    with write_transaction(engine) as conn:
        had_actions = _ledger_has_actions(conn, number)
        writer = _ChunkWriter(conn, ledger, number, origin, progress, zone, checked=checked or had_actions)
        try:
            with ExitStack() as writer.stack:
                try:
                    for chunk in source.chunks():
                        writer.offer(chunk, source)
                    if source.problems or writer.problems:
                        raise InvalidInput(_all_problems(source.problems, writer.problems), what="ingest")
                    if before_commit is not None:
                        before_commit()
                except BaseException:
                    writer.abandon()
                    raise
                # Inside the stack: the COPY ends before the indexes set aside are rebuilt.
                writer.close_copy()
        except (DBAPIError, psycopg.errors.UniqueViolation) as exc:
            if writer.checked or not _is_repeated_key(exc):
                raise
            raise _RepeatedKeys from exc
        if writer.batch is None:
            return WriteResult(0, writer.offered, None)
        if writer.budget is not None:
            writer.budget.record(conn)
        if not writer.bulk and statistics_stale(conn, "actions", writer.new):
            dialect_of(conn).analyze(conn, "actions")
        commit_batch(conn, writer.batch)
    if writer.bulk:
        # A bulk load leaves the visibility map of every new page unset, and a full recalc
        # reads actions through an index-only scan that would otherwise visit the table for
        # each of them. Autovacuum would get there, but not before a recalc that follows.
        vacuum_analyze(engine, "actions")
    return WriteResult(writer.new, writer.offered - writer.new, writer.batch.batch_id)


def _all_problems(first: ProblemLog | list[InputProblem], second: ProblemLog) -> list[InputProblem] | ProblemLog:
    """The problems of reading, then those of comparing with the ledger, as one collection."""
    if not second:
        return reported(first)
    if not first:
        return second.as_reported()
    combined = ProblemLog()
    for problem in chain(first, second):
        combined.append(problem)
    return combined.as_reported()


class _ChunkWriter:
    """Writes a batch a chunk at a time inside one transaction: each chunk's repeats collapsed,
    its keys looked up (when `checked`) among recorded actions, those of this batch included,
    its new rows appended. Once a problem is found nothing more is written, but every chunk
    is still read, so that every problem is reported."""

    def __init__(
        self, conn: Connection, ledger: str, number: int, origin: str | None, progress: Progress, zone: ZoneInfo | None, *, checked: bool
    ) -> None:
        self.conn = conn
        self.ledger = ledger
        self.number = number
        self.origin = origin
        self.progress = progress
        self.zone = zone
        self.checked = checked
        self.postgres = dialect_of(conn).is_postgresql
        self.problems = ProblemLog()
        self.registry = KeyRegistry(conn, number)
        self.budget: QuantityBudget | None = None
        self.offered = 0
        self.new = 0
        self.batch: PendingBatch | None = None
        self.bulk = False
        self.stack = ExitStack()
        # psycopg's COPY under way and the context manager that opened it.
        self.copy: Copy | None = None
        self._copy_context: AbstractContextManager[Copy] | None = None

    def offer(self, chunk: Sequence[LocatedRow], source: RowSource) -> None:
        if not chunk:
            return
        self.offered += len(chunk)
        if source.problems or self.problems:
            self.progress(len(chunk))
            return
        chunk = self._numbered(chunk)
        unique = chunk
        # Unchecked, a repeat within the chunk is left to the unique key (see write_actions):
        # a set of every key costs as much as a tenth of writing them.
        if self.checked and len({located.row.source_key for located in chunk}) != len(chunk):
            unique, repeated = _dedupe_input(chunk)
            self.problems.extend(repeated)
            self.progress(len(chunk) - len(unique))
        if self.checked and self.batch is not None:
            self.close_copy()
        if self.checked and (self.batch is not None or _ledger_has_actions(self.conn, self.number)):
            present, conflicts = _compare_with_recorded(self.conn, self.number, unique, self.progress, self.batch, self.registry)
            self.problems.extend(conflicts)
            if present:
                unique = [located for located in unique if located.row.source_key not in present]
        if not self.problems:
            # The ledger's bound on what its scores can add up to (ledger/store/quantity_caps.py).
            if self.budget is None:
                self.budget = QuantityBudget(self.conn, self.number)
            self.problems.extend(self.budget.admit(unique))
        if self.problems:
            self.progress(len(unique))
            return
        if unique:
            self._append(unique, source)

    def _numbered(self, chunk: Sequence[LocatedRow]) -> Sequence[LocatedRow]:
        """`chunk` with each user key given as text replaced by its number (new keys get one):
        one lookup for the chunk's distinct keys; rows of integer users stay as they are."""
        keyed = (
            chunk.text_user_keys
            if isinstance(chunk, ParsedRows | CopyLines)
            else dict.fromkeys(located.row.user_id for located in chunk if type(located.row.user_id) is str)
        )
        if not keyed:
            return chunk
        # Looking keys up needs the connection, which a COPY under way holds.
        self.close_copy()
        numbers = self.registry.resolve(keyed)
        return [
            located._replace(row=located.row._replace(user_id=numbers[located.row.user_id]))
            if type(located.row.user_id) is str
            else located
            for located in chunk
        ]

    def _append(self, chunk: Sequence[LocatedRow], source: RowSource) -> None:
        batch = self.batch or self._begin(len(chunk), source)
        if self.registry.new:
            # New keys' rows go before the events that name them.
            self.close_copy()
            self.registry.record_new(batch, self.ledger)
        if self.postgres and self.copy is None:
            self._copy_context = open_copy(self.conn)
            self.copy = self._copy_context.__enter__()
        # Lines a database spelled for a COPY go on as they are, where their UTC days are the ledger's.
        as_lines = (
            isinstance(chunk, CopyLines)
            and self.copy is not None
            and self.zone is None
            and append_lines(self.copy, batch, self.ledger, self.number, chunk)
        )
        if not as_lines:
            append_chunk(self.conn, self.copy, batch, self.ledger, self.number, action_rows(chunk), self.zone)
        self.new += len(chunk)
        self.progress(len(chunk))

    def _begin(self, first_rows: int, source: RowSource) -> PendingBatch:
        conn = self.conn
        batch = self.batch = begin_batch(conn, self.ledger, "actions", self.origin)
        self.bulk = takes_bulk_path(conn, "actions", max(first_rows, source.estimated_rows() or 0))
        if self.bulk and self.postgres:
            # Setting indexes aside takes ACCESS EXCLUSIVE on actions. A rebuild in parts holds
            # ACCESS SHARE in one session while it waits, in Python, for another that still has
            # to ask for it: queued behind our request, PostgreSQL would see no deadlock. So wait
            # for any recalculation first (the lock it holds throughout), then ask.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (PROJECTION_LOCK_KEY,))
        if self.bulk:
            # Not analyzed inside: the VACUUM (ANALYZE) after commit does it. A checked batch
            # keeps its unique key, in which it looks keys up as it goes.
            self.stack.enter_context(indexes_set_aside(conn, "actions", analyze=False, keep=UNIQUE_KEY if self.checked else None))
        # The indexes are rebuilt after this cache is given back: SQLite sorts faster in the
        # small runs of its default cache (ledger/store/bulk_indexes.py).
        self.stack.enter_context(sqlite_write_cache(conn))
        return batch

    def close_copy(self) -> None:
        """End the COPY under way, if any (looking keys up needs the connection)."""
        if self._copy_context is not None:
            context, self._copy_context, self.copy = self._copy_context, None, None
            context.__exit__(None, None, None)

    def abandon(self) -> None:
        """End a COPY under way without its rows (the batch is refused)."""
        if self._copy_context is not None:
            context, self._copy_context, self.copy = self._copy_context, None, None
            # Whatever ending the COPY raises, the transaction rolls back anyway.
            with suppress(Exception):
                context.__exit__(InvalidInput, InvalidInput([]), None)


def _is_repeated_key(exc: Exception) -> bool:
    """Whether `exc` is the unique key of (ledger, source_key) refusing a row: PostgreSQL names
    the constraint in the error's diagnostics; on SQLite it is the only UNIQUE constraint of
    actions (the primary key has a result code of its own, SQLITE_CONSTRAINT_PRIMARYKEY). A
    UNIQUE error from another table written in the same attempt would cost one retry with
    repeats collapsed, which then raises it."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(orig, psycopg.errors.UniqueViolation):
        return orig.diag.constraint_name == UNIQUE_KEY
    return isinstance(orig, sqlite3.IntegrityError) and orig.sqlite_errorname == "SQLITE_CONSTRAINT_UNIQUE"


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
    conn: Connection, number: int, rows: Sequence[LocatedRow], progress: Progress, batch: PendingBatch | None, registry: KeyRegistry
) -> tuple[set[str], list[InputProblem]]:
    """Which keys of `rows` (one chunk, no key twice) the ledger (number `number`) already
    holds, this batch's earlier chunks included, and the problems where the payload differs.
    The rows found are reported to `progress`, so that a re-ingest, which writes little,
    still shows its progress."""
    by_key = {located.row.source_key: located for located in rows}
    present: set[str] = set()
    problems: list[InputProblem] = []
    ours_from = batch.first_seq if batch is not None else None
    for recorded, seq in _recorded_with_keys(conn, number, list(by_key)):
        present.add(recorded.source_key)
        given = by_key[recorded.source_key]
        differing = given.row.differing_fields(recorded)
        if not differing:
            continue
        if ours_from is not None and seq >= ours_from:
            reason = (
                f"source_key {recorded.source_key!r} appears again (first earlier in this input) with a different {', '.join(differing)}"
            )
        else:
            shown = "; ".join(
                f"{name}: recorded {_shown(registry, name, getattr(recorded, name))}, "
                f"given {_shown(registry, name, getattr(given.row, name))}"
                for name in differing
            )
            reason = f"source_key {recorded.source_key!r} is already recorded with a different payload ({shown})"
        problems.append(InputProblem(given.source, given.line, ", ".join(differing), reason))
    if present:
        progress(len(present))
    return present, problems


def _shown(registry: KeyRegistry, name: str, value: object) -> str:
    """A field's value in a problem: a user as its key, not the number stored for it."""
    if name == "user_id" and isinstance(value, int) and not is_direct(value):
        return str(registry.key_of(value))
    return str(value)


def _ledger_has_actions(conn: Connection, number: int) -> bool:
    return conn.execute(select(exists().where(actions.c.ledger_id == number))).scalar_one()


def _recorded_with_keys(conn: Connection, number: int, keys: list[str]) -> Iterable[tuple[ActionRow, int]]:
    """Recorded actions whose source_key is among `keys` (one chunk of a batch's keys), each
    with its sequence number."""
    columns = (*ACTION_ROW_COLUMNS, actions.c.seq)
    if dialect_of(conn).is_postgresql:
        # An array of keys, not a joined temporary table: PostgreSQL then looks each key up
        # in the unique key of actions, where a join to a chunk's keys could read the
        # whole index once per chunk (a merge join).
        keys_bound = bindparam("keys", keys, type_=postgresql.ARRAY(Text))
        query = select(*columns).where(actions.c.ledger_id == number, actions.c.source_key == any_(keys_bound))
        return [(ActionRow(*row[:-1]), row[-1]) for row in conn.execute(query)]
    staged = table("staged_keys", column("source_key"))
    conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS staged_keys (source_key text)")
    conn.exec_driver_sql("DELETE FROM staged_keys")
    conn.exec_driver_sql("INSERT INTO staged_keys (source_key) VALUES (?)", [(key,) for key in keys])
    query = select(*columns).join(staged, staged.c.source_key == actions.c.source_key).where(actions.c.ledger_id == number)
    found = [(ActionRow(*row[:-1]), row[-1]) for row in conn.execute(query)]
    conn.exec_driver_sql("DELETE FROM staged_keys")
    return found
