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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import IO

from sqlalchemy import Engine

from ledger import audit, corrections_audit, known, ledger_numbers, levels, replay, schedules, standings
from ledger.config import DEFAULT_LEDGER
from ledger.domain import (
    Action,
    ActionState,
    Adjustment,
    Correction,
    LevelCurve,
    Merge,
    RecordedScheduleVersion,
    Retraction,
    Rule,
    ScheduleVersion,
    today_utc,
)
from ledger.errors import InputProblem, InvalidInput
from ledger.importers.actions import guess_format, read_actions, rows_from_actions
from ledger.importers.schedules import read_schedule
from ledger.ingest_corrections import ingest_with_corrections
from ledger.pricing import run
from ledger.rule_edits import RuleEdit
from ledger.store import schema
from ledger.store.actions import LocatedRow, Progress, WriteResult, write_actions
from ledger.store.corrections import (
    CompensationIntent,
    CorrectionsWritten,
    Located,
    now_utc,
    read_action_states,
    read_adjustments,
    read_compensation_intents,
    write_adjustments,
    write_compensation_intents,
    write_corrections,
    write_merge,
)
from ledger.store.engine import open_engine, read_transaction
from ledger.verify import JournalDigest, Verification, check_schema_objects, verify_journal
from ledger.verify_projections import ProjectionDifference, ahead_of_journal, projection_differences, refuse_projections_ahead


class Ledger:
    """One ledger namespace in one database."""

    def __init__(self, engine: Engine, name: str = DEFAULT_LEDGER) -> None:
        if not name or len(name) > 100:
            raise InvalidInput([InputProblem("--ledger", None, None, "a ledger name is 1 to 100 characters")])
        self.engine = engine
        self.name = name
        self._schema_checked = False
        self._known_to_exist = False
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

    def require_existing(self) -> None:
        """Raise UnknownLedger (naming the ledgers there are) unless something was ever
        recorded in this ledger. Checked once per Ledger object: ledgers are never removed."""
        if self._known_to_exist:
            return
        self.check_schema()
        known.require_ledger(self.engine, self.name)
        self._known_to_exist = True

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
        if any(located.correction is not None for located in rows):
            return ingest_with_corrections(self.engine, self.name, rows, origin=origin, progress=progress)
        return write_actions(self.engine, self.name, rows, origin=origin, progress=progress)

    def ingest_file(self, path: str, fmt: str | None = None, *, progress: Progress | None = None) -> WriteResult:
        """Read, validate and record an action file as one all-or-nothing batch."""
        rows = self.read_action_file(path, fmt)
        return self.ingest_rows(rows, origin=f"ingest {Path(path).name if path != '-' else 'stdin'}", progress=progress)

    def record_actions(self, actions: Iterable[Action]) -> WriteResult:
        """Record `Action` objects as one batch."""
        return self.ingest_rows(rows_from_actions(actions), origin="python")

    # -- corrections ----------------------------------------------------------------------

    def record_adjustments(self, adjustments: Iterable[Adjustment | Located], *, origin: str | None = None) -> CorrectionsWritten:
        """Record adjustments as one all-or-nothing batch; idempotent by key."""
        self.check_schema()
        located = [item if isinstance(item, Located) else Located("adjustments", None, item) for item in adjustments]
        return write_adjustments(self.engine, self.name, located, origin=origin or "python")

    def adjustments(self, *, kind: str | None = None, user_id: int | None = None) -> list[Adjustment]:
        """The ledger's adjustments in recording order, optionally of one kind or user."""
        self.check_schema()
        return read_adjustments(self.engine, self.name, kind=kind, user_id=user_id)

    def record_corrections(self, corrections: Iterable[Correction | Located], *, origin: str | None = None) -> CorrectionsWritten:
        """Record retractions, reinstatements and amendments as one all-or-nothing batch."""
        self.check_schema()
        located = [item if isinstance(item, Located) else Located("corrections", None, item) for item in corrections]
        return write_corrections(self.engine, self.name, located, origin=origin or "python")

    def retract(self, source_keys: Iterable[str], *, at: datetime | None = None, reason: str | None = None) -> CorrectionsWritten:
        """Retract the actions of `source_keys` at `at` (default now)."""
        moment = at or now_utc()
        return self.record_corrections(
            [Located("retract", None, Retraction(source_key=key, at=moment, reason=reason)) for key in source_keys],
            origin="retract",
        )

    def action_states(self, keys: Iterable[str] | None = None) -> dict[str, ActionState]:
        """Recorded actions (all, or those of `keys`) as they stand after their corrections."""
        self.check_schema()
        return read_action_states(self.engine, self.name, keys)

    def record_compensation_intents(self, intents: Sequence[CompensationIntent]) -> CorrectionsWritten:
        """Record that compensations are about to be sent to an outside system; once each is
        there, `record_adjustments` its compensation (same key, the system's id as reference)."""
        self.check_schema()
        return write_compensation_intents(self.engine, self.name, intents)

    def compensation_intents(self) -> dict[str, CompensationIntent]:
        """The latest recorded intent of each compensation key."""
        self.check_schema()
        return read_compensation_intents(self.engine, self.name)

    def merge_users(self, source: int, target: int, *, at: datetime | None = None, reason: str | None = None) -> CorrectionsWritten:
        """From now on every event of `source`, past and future, counts for `target`."""
        self.check_schema()
        if source == target:
            raise InvalidInput([InputProblem("merge-users", None, "target", "a user cannot be merged into itself")], what="merge")
        merge = Merge(source=source, target=target, at=at or now_utc(), reason=reason)
        return write_merge(self.engine, self.name, merge, origin="merge-users")

    # -- schedules ------------------------------------------------------------------------

    def set_schedule(
        self,
        effective_from: date,
        changes: Mapping[str, Rule | RuleEdit],
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

    def schedule_diff(
        self, from_day: date, to_day: date
    ) -> tuple[RecordedScheduleVersion | None, RecordedScheduleVersion | None, list[schedules.RuleChange]]:
        self.check_schema()
        return schedules.diff(self.engine, self.name, from_day, to_day)

    # -- trust ----------------------------------------------------------------------------

    def verify(self, digest: JournalDigest | None = None) -> Verification:
        """Recompute every batch link and event of the journal (all ledgers in the database:
        they share one chain). Raises JournalBroken naming the first broken place."""
        self.check_schema()
        with read_transaction(self.engine) as conn:
            result = verify_journal(conn, digest)
        check_schema_objects(self.engine)
        return result

    def projection_differences(self) -> list[ProjectionDifference | str]:
        """Every difference between the stored projections (of every recalculated ledger in
        the database) and the projections recomputed from the events; empty when they agree."""
        self.check_schema()
        return list(projection_differences(self.engine))

    def digest(self) -> JournalDigest:
        """The journal's current head (batch, last seq, hash), to keep outside the database.

        The journal is verified first: a digest pins a head only once its chain checks out,
        so a later verification against it cannot bless an earlier alteration. An empty
        journal has no head to pin (a digest of no batch is refused when read)."""
        head = self.verify().head
        if head.batch_id < 1:
            raise InvalidInput(
                [InputProblem("digest", None, None, "the journal is empty: there is no batch for a digest to name yet")],
                what="digest",
                writes=False,
            )
        return head

    # -- replay: projections, scores, leaderboards, audit ---------------------------------

    def recalc(self, *, full: bool = False, progress: replay.Progress | None = None) -> replay.RecalcOutcome:
        """Bring the projections up to date (incrementally; `full` rebuilds them)."""
        self.check_schema()
        if not full and not replay.is_behind(self.engine, self.name) and not self._projections_ahead():
            # Nothing recorded since the last run: answer at once, without the write lock.
            return replay.RecalcOutcome(False, 0, 0, self._projected_through())
        return replay.recalc(self.engine, self.name, full=full, progress=progress)

    def _projections_ahead(self) -> bool:
        """Whether the projection state claims events the journal does not hold (replay.recalc
        then rebuilds in full)."""
        with read_transaction(self.engine) as conn:
            return ahead_of_journal(conn, self.name) is not None

    def _projected_through(self) -> int:
        with read_transaction(self.engine) as conn:
            return int(run(conn, "projection_through_seq", ledger=self.name).scalar() or 0)

    def is_behind(self) -> bool:
        """Whether events were recorded since the projections were last brought up to date,
        so that `scores` and `leaderboard` will recalculate first."""
        self.check_schema()
        return replay.is_behind(self.engine, self.name)

    def catch_up(self) -> None:
        """Recalculate incrementally if events arrived since the last recalculation, so
        reads from the projections always reflect every recorded event. Refuses projections
        that claim more events than the journal holds (ProjectionsAhead)."""
        refuse_projections_ahead(self.engine, self.name)
        if replay.is_behind(self.engine, self.name):
            replay.recalc(self.engine, self.name)

    def scores(
        self, *, from_day: date | None = None, to_day: date | None = None, as_known_at: datetime | None = None
    ) -> list[replay.UserPoints]:
        """Points per user, sorted by user: from the projections, or, with `as_known_at`,
        computed from the events and schedule versions recorded by then. With a level curve
        in force, each carries its level; a never-level-down curve holds all-time scores
        (ledger/levels.py)."""
        self.check_schema()
        all_time = from_day is None and to_day is None
        if as_known_at is not None:
            standings.check_range(from_day, to_day)
            with replay.pricing_transaction(self.engine) as conn:
                rows = replay.points_in(conn, self.name, known_at=as_known_at, from_day=from_day, to_day=to_day)
                curve = levels.curve_in_force(conn, self.name, to_day, known_at=as_known_at)
                held = levels.held_scores(conn, curve) if curve and curve.never_level_down and all_time else {}
                return _with_levels(rows, curve, held)
        self.catch_up()
        rows = standings.projected_points(self.engine, self.name, from_day, to_day)
        with read_transaction(self.engine) as conn:
            curve = levels.curve_in_force(conn, self.name, to_day)
            if curve is None:
                return rows
            held = {}
            if curve.never_level_down and all_time:
                held = levels.held_scores(conn, curve, ledger_id=ledger_numbers.number_of(conn, self.name))
        return _with_levels(rows, curve, held)

    def naive_scores(self, values_of: date) -> list[replay.UserPoints]:
        """Points per user if every action were priced at the values in force on
        `values_of`, as a naive "today's values" recalculation does (retroactive drift)."""
        self.check_schema()
        with replay.pricing_transaction(self.engine) as conn:
            return replay.points_in(conn, self.name, values_of=values_of)

    def platform_points(self, values_of: date, *, from_day: date | None = None) -> list[replay.UserPoints]:
        """What a platform's own recalculation from `from_day` at the values in force on
        `values_of` makes of each user's actions as they stand now (ledger/replay.py)."""
        self.check_schema()
        with replay.pricing_transaction(self.engine) as conn:
            return replay.platform_points(conn, self.name, values_of=values_of, from_day=from_day)

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
        with read_transaction(self.engine) as conn:
            curve = levels.curve_in_force(conn, self.name, to_day or at)
        all_time = period == standings.Period.all and from_day is None and to_day is None
        if curve is not None and curve.never_level_down and all_time:
            return standings.ranked(self.scores(), ranking=ranking, limit=limit, exclude=frozenset(exclude))
        board = standings.leaderboard(
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
        if curve is None:
            return board
        return [replace(row, level=curve.level_for(row.points)) for row in board]

    def audit(self, user_id: int, *, from_day: date | None = None, to_day: date | None = None) -> list[audit.AuditLine]:
        """Every line making up `user_id`'s points, in order, with a running total."""
        standings.check_user_ids([user_id], "audit")
        self.check_schema()
        with read_transaction(self.engine) as conn:
            curve = levels.curve_in_force(conn, self.name, to_day)
        return corrections_audit.audit(self._auditor, user_id, from_day, to_day, curve=curve)

    def require_user(self, user_id: int) -> None:
        """Raise UnknownUser unless this ledger has recorded an action of `user_id`."""
        self.check_schema()
        known.require_user(self.engine, self.name, user_id)


def _with_levels(rows: list[replay.UserPoints], curve: LevelCurve | None, held: dict[int, int]) -> list[replay.UserPoints]:
    """`rows` with their held scores (never-level-down users who lost points) and levels."""
    if curve is None:
        return rows
    return [
        replay.UserPoints(row.user_id, held.get(row.user_id, row.points), curve.level_for(held.get(row.user_id, row.points)))
        for row in rows
    ]
