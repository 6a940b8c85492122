"""`Ledger`: everything the command line can do, callable from Python.

    from ledger import Ledger
    book = Ledger.open("sqlite:///scoreledger.db", "default")
    book.init()
    book.ingest_file("actions.csv")

Each method is one unit of work on one ledger namespace; the CLI only parses arguments,
calls one of these, and formats what comes back.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import IO

from sqlalchemy import Engine

from ledger import schedules
from ledger.config import DEFAULT_LEDGER
from ledger.domain import Action, RecordedScheduleVersion, Rule, ScheduleVersion
from ledger.errors import InputProblem, InvalidInput
from ledger.importers.actions import guess_format, read_actions, rows_from_actions
from ledger.importers.schedules import read_schedule
from ledger.store import schema
from ledger.store.actions import LocatedRow, Progress, WriteResult, write_actions
from ledger.store.engine import open_engine, read_transaction
from ledger.verify import JournalDigest, Verification, journal_digest, verify_journal


class Ledger:
    """One ledger namespace in one database."""

    def __init__(self, engine: Engine, name: str = DEFAULT_LEDGER) -> None:
        if not name or len(name) > 100:
            raise InvalidInput([InputProblem("--ledger", None, None, "a ledger name is 1 to 100 characters")])
        self.engine = engine
        self.name = name

    @classmethod
    def open(cls, url: str, name: str = DEFAULT_LEDGER) -> Ledger:
        return cls(open_engine(url), name)

    def close(self) -> None:
        self.engine.dispose()

    # -- schema ---------------------------------------------------------------------------

    def init(self) -> tuple[str | None, str]:
        """Create or upgrade the schema; returns (revision before, revision after)."""
        return schema.upgrade(self.engine)

    def check_schema(self) -> None:
        with read_transaction(self.engine) as conn:
            schema.require_current(conn)

    # -- actions --------------------------------------------------------------------------

    def read_action_file(self, path: str, fmt: str | None = None) -> list[LocatedRow]:
        """Parse and validate an action file (`-` for standard input) without writing."""
        fmt = fmt or ("csv" if path == "-" else guess_format(path))
        if path == "-":
            return read_actions(sys.stdin.buffer, "<stdin>", fmt)
        try:
            with open(path, "rb") as stream:
                return read_actions(stream, path, fmt)
        except OSError as exc:
            raise InvalidInput([InputProblem(path, None, None, exc.strerror or str(exc))], what="ingest") from None

    def ingest_rows(self, rows: Sequence[LocatedRow], *, origin: str | None = None, progress: Progress | None = None) -> WriteResult:
        """Record validated rows as one batch (see `ledger.store.actions.write_actions`)."""
        self.check_schema()
        return write_actions(self.engine, self.name, rows, origin=origin, progress=progress)

    def ingest_file(self, path: str, fmt: str | None = None, *, progress: Progress | None = None) -> WriteResult:
        """Read, validate and record an action file as one all-or-nothing batch."""
        rows = self.read_action_file(path, fmt)
        return self.ingest_rows(rows, origin=f"ingest {Path(path).name if path != '-' else 'stdin'}", progress=progress)

    def record_actions(self, actions: Iterable[Action]) -> WriteResult:
        """Record `Action` objects as one batch."""
        return self.ingest_rows(rows_from_actions(actions), origin="python")

    # -- schedules ------------------------------------------------------------------------

    def set_schedule(
        self,
        effective_from: date,
        changes: dict[str, Rule],
        *,
        author: str | None = None,
        reason: str | None = None,
        link: str | None = None,
        retroactive: bool = False,
        dry_run: bool = False,
    ) -> schedules.RecordOutcome:
        """Record a version that changes `changes` and keeps every other rule."""
        self.check_schema()
        version = schedules.next_version(
            self.engine, self.name, effective_from, changes, author=author, reason=reason, link=link
        )
        return schedules.record(
            self.engine, self.name, [version], retroactive=retroactive, dry_run=dry_run, origin="schedule set"
        )

    def import_schedule(
        self, stream: IO[bytes], source: str, fmt: str | None = None, *, retroactive: bool = False, dry_run: bool = False
    ) -> schedules.RecordOutcome:
        """Record every version of a schedule document as one batch."""
        self.check_schema()
        versions = read_schedule(stream, source, fmt)
        return schedules.record(
            self.engine, self.name, versions, retroactive=retroactive, dry_run=dry_run, origin=f"schedule import {source}"
        )

    def record_schedule(self, versions: Sequence[ScheduleVersion], *, retroactive: bool = False) -> schedules.RecordOutcome:
        self.check_schema()
        return schedules.record(self.engine, self.name, versions, retroactive=retroactive, origin="python")

    def schedule_history(self, *, as_known_at: datetime | None = None) -> list[RecordedScheduleVersion]:
        self.check_schema()
        return schedules.history(self.engine, self.name, as_known_at=as_known_at)

    def schedule_at(self, day: date | None = None, *, as_known_at: datetime | None = None) -> RecordedScheduleVersion:
        self.check_schema()
        return schedules.version_at(self.engine, self.name, day, as_known_at=as_known_at)

    def schedule_diff(self, from_day: date, to_day: date):  # type: ignore[no-untyped-def]
        self.check_schema()
        return schedules.diff(self.engine, self.name, from_day, to_day)

    # -- trust ----------------------------------------------------------------------------

    def verify(self, digest: JournalDigest | None = None) -> Verification:
        """Recompute every batch link and event of the journal (all ledgers in the database:
        they share one chain). Raises JournalBroken naming the first broken place."""
        self.check_schema()
        with read_transaction(self.engine) as conn:
            return verify_journal(conn, digest)

    def digest(self) -> JournalDigest:
        """The journal's current head (batch, last seq, hash), to keep outside the database."""
        self.check_schema()
        with read_transaction(self.engine) as conn:
            return journal_digest(conn)
