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

from ledger import audit, replay, schedules, standings
from ledger.config import DEFAULT_LEDGER
from ledger.domain import Action, RecordedScheduleVersion, Rule, ScheduleVersion, today_utc
from ledger.errors import InputProblem, InvalidInput
from ledger.importers.actions import guess_format, read_actions, rows_from_actions
from ledger.importers.schedules import read_schedule
from ledger.rule_edits import RuleEdit
from ledger.store import schema
from ledger.store.actions import LocatedRow, Progress, WriteResult, write_actions
from ledger.store.engine import open_engine, read_transaction
from ledger.verify import JournalDigest, Verification, verify_journal


class Ledger:
    """One ledger namespace in one database."""

    def __init__(self, engine: Engine, name: str = DEFAULT_LEDGER) -> None:
        if not name or len(name) > 100:
            raise InvalidInput([InputProblem("--ledger", None, None, "a ledger name is 1 to 100 characters")])
        self.engine = engine
        self.name = name
        self._schema_checked = False
        self._auditor = audit.Auditor(engine, name)

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
        """Refuse to work on a missing or outdated schema. Checked once per Ledger object:
        the check costs a round trip and a migration-table read, too much for every audit."""
        if self._schema_checked:
            return
        with read_transaction(self.engine) as conn:
            schema.require_current(conn)
        self._schema_checked = True

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
        changes: dict[str, Rule | RuleEdit],
        *,
        author: str | None = None,
        reason: str | None = None,
        link: str | None = None,
        retroactive: bool = False,
        dry_run: bool = False,
    ) -> schedules.RecordOutcome:
        """Record a version that changes `changes` and keeps every other rule (a `RuleEdit`
        changes only the parts of a rule it names)."""
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
            self.engine, self.name, versions, retroactive=retroactive, dry_run=dry_run, origin=f"schedule import {source}",
            as_document=True,
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
        """The journal's current head (batch, last seq, hash), to keep outside the database.

        The journal is verified first: a digest pins a head only once its chain checks out,
        so a later verification against it cannot bless an earlier alteration."""
        return self.verify().head

    # -- replay: projections, scores, leaderboards, audit ---------------------------------

    def recalc(self, *, full: bool = False, progress: replay.Progress | None = None) -> replay.RecalcOutcome:
        """Bring the projections up to date (incrementally; `full` rebuilds them)."""
        self.check_schema()
        return replay.recalc(self.engine, self.name, full=full, progress=progress)

    def catch_up(self) -> None:
        """Recalculate incrementally if events arrived since the last recalculation, so
        reads from the projections always reflect every recorded event."""
        if replay.is_behind(self.engine, self.name):
            replay.recalc(self.engine, self.name)

    def scores(
        self, *, from_day: date | None = None, to_day: date | None = None, as_known_at: datetime | None = None
    ) -> list[replay.UserPoints]:
        """Points per user, sorted by user: from the projections, or, with `as_known_at`,
        computed from the events and schedule versions recorded by then."""
        self.check_schema()
        if as_known_at is not None:
            standings.check_range(from_day, to_day)
            with replay.pricing_transaction(self.engine) as conn:
                return replay.points_in(conn, self.name, known_at=as_known_at, from_day=from_day, to_day=to_day)
        self.catch_up()
        return standings.projected_points(self.engine, self.name, from_day, to_day)

    def naive_scores(self, values_of: date) -> list[replay.UserPoints]:
        """Points per user if every action were priced at the values in force on
        `values_of`, as a naive "today's values" recalculation does (retroactive drift)."""
        self.check_schema()
        with replay.pricing_transaction(self.engine) as conn:
            return replay.points_in(conn, self.name, values_of=values_of)

    def daily_points(self) -> list[tuple[int, date, int]]:
        """Every (user, day, points) row of the daily projection."""
        self.check_schema()
        self.catch_up()
        return replay.projected_daily_points(self.engine, self.name)

    def leaderboard(
        self,
        *,
        period: standings.Period = standings.Period.all,
        at: date | None = None,
        from_day: date | None = None,
        to_day: date | None = None,
        limit: int | None = None,
        ranking: standings.Ranking = standings.Ranking.dense_rank,
        exclude: Iterable[int] = (),
    ) -> list[standings.Standing]:
        """The leaderboard for a period around `at` (default today, UTC) or a day range."""
        self.check_schema()
        self.catch_up()
        return standings.leaderboard(
            self.engine,
            self.name,
            period=period,
            at=at or today_utc(),
            from_day=from_day,
            to_day=to_day,
            limit=limit,
            ranking=ranking,
            exclude=frozenset(exclude),
        )

    def audit(self, user_id: int, *, from_day: date | None = None, to_day: date | None = None) -> list[audit.AuditLine]:
        """Every line making up `user_id`'s points, in order, with a running total."""
        self.check_schema()
        return self._auditor.audit(user_id, from_day, to_day)
