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
from typing import IO, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from ledger import audit, corrections_audit, known, levels, platform, replay, schedules, standings, users
from ledger.config import DEFAULT_LEDGER
from ledger.domain import (
    Action,
    ActionState,
    Adjustment,
    Correction,
    LevelCurve,
    Located,
    Merge,
    RecordedScheduleVersion,
    Retraction,
    Rule,
    ScheduleVersion,
    UserNames,
    UserPoints,
    now_utc,
)
from ledger.errors import InputProblem, InvalidInput, UnknownUser
from ledger.importers.actions import ActionFile, guess_format, read_actions, rows_from_actions
from ledger.importers.schedules import read_schedule
from ledger.ingest_corrections import HasCorrections, PlainRows, ingest_with_corrections
from ledger.rule_edits import RuleEdit
from ledger.safe_values import text_problem
from ledger.store import ledger_numbers, ledger_zones, schema
from ledger.store.actions import LocatedRow, Progress, RowSource, SequenceSource, WriteResult, write_actions
from ledger.store.corrections import (
    CompensationIntent,
    CorrectionsWritten,
    read_action_states,
    read_adjustments,
    read_compensation_intents,
    write_adjustments,
    write_compensation_intents,
    write_corrections,
    write_merge,
)
from ledger.store.engine import open_engine, read_transaction
from ledger.store.statements import run
from ledger.store.user_keys import number_of_ref, numbers_of_keys, refs_of_numbers
from ledger.store.user_names import write_user_names
from ledger.unpriced import unpriced_warnings
from ledger.user_keys import UserRef, is_direct, user_ref
from ledger.verify import JournalDigest, Verification, check_schema_objects, verify_journal
from ledger.verify_projections import ProjectionDifference, ahead_of_journal, projection_differences, refuse_projections_ahead


class Ledger:
    """One ledger namespace in one database."""

    def __init__(self, engine: Engine, name: str = DEFAULT_LEDGER) -> None:
        problem = "is 1 to 100 characters" if not name or len(name) > 100 else text_problem(name)
        if problem is not None:
            # Refused before the database is touched, whatever the command: nothing to write of.
            raise InvalidInput([InputProblem("`ledger`", None, None, f"a ledger name {problem}")], what="ledger name", writes=False)
        self.engine = engine
        self.name = name
        self._schema_checked = False
        self._known_to_exist = False
        self._zone: ZoneInfo | None = None
        self._zone_read = False
        self._auditor = audit.Auditor(engine, name)

    @classmethod
    def open(cls, url: str, name: str = DEFAULT_LEDGER) -> Ledger:
        return cls(open_engine(url), name)

    def close(self) -> None:
        self.engine.dispose()

    # -- schema ---------------------------------------------------------------------------

    def init(self, *, timezone: str | None = None) -> tuple[str | None, str]:
        """Create or upgrade the schema; returns (revision before, revision after). With
        `timezone` (an IANA name such as Europe/Zurich), give this ledger that time zone for
        its days and periods (ledger/store/ledger_zones.py): refused once it holds events in another."""
        if timezone is not None:
            ledger_zones.parse_zone(timezone)
        revisions = schema.upgrade(self.engine)
        if timezone is not None:
            ledger_zones.set_zone(self.engine, self.name, timezone)
            self._zone_read = False
        return revisions

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
        """Parse and validate a whole action file (`-` for standard input) without writing;
        `ingest_file` reads it in chunks instead."""
        fmt = fmt or ("csv" if path == "-" else guess_format(path))
        if path == "-":
            return read_actions(sys.stdin.buffer, "<stdin>", fmt)
        try:
            with open(path, "rb") as stream:
                return read_actions(stream, path, fmt)
        except OSError as exc:
            raise InvalidInput([InputProblem(path, None, None, exc.strerror or str(exc))], what="ingest") from None

    def ingest_rows(
        self, rows: Sequence[LocatedRow] | RowSource, *, origin: str | None = None, progress: Progress | None = None
    ) -> WriteResult:
        """Record validated rows as one batch (see `ledger.store.actions.write_actions`); a
        RowSource given here holds plain actions only, read a chunk at a time."""
        self.check_schema()
        if not isinstance(rows, Sequence):
            return write_actions(self.engine, self.name, rows, origin=origin, progress=progress, zone=self.zone())
        if any(located.correction is not None for located in rows):
            return ingest_with_corrections(self.engine, self.name, SequenceSource(rows), origin=origin, progress=progress, zone=self.zone())
        return write_actions(self.engine, self.name, rows, origin=origin, progress=progress, zone=self.zone())

    def ingest_file(self, path: str, fmt: str | None = None, *, progress: Progress | None = None, strict: bool = False) -> WriteResult:
        """Read, validate and record an action file (`-` for standard input) as one
        all-or-nothing batch, a chunk at a time: the file is never held whole."""
        source = ActionFile(path, fmt)
        try:
            return self.ingest_source(
                source, origin=f"ingest {Path(path).name if path != '-' else 'stdin'}", progress=progress, strict=strict
            )
        finally:
            source.close()

    def ingest_source(
        self, source: RowSource, *, origin: str | None = None, progress: Progress | None = None, strict: bool = False
    ) -> WriteResult:
        """Record the rows of `source` (an `ActionFile`, or any RowSource) as one batch, a
        chunk at a time; a source with correcting rows takes the corrections path. The result
        warns of action types no schedule version prices (counted by an `ActionFile`);
        `strict` refuses the batch instead."""
        self.check_schema()
        zone = self.zone()
        known = schedules.known_actions(schedules.history(self.engine, self.name))

        def unpriced() -> list[str]:
            counts = getattr(source, "action_counts", None)
            return unpriced_warnings(counts, known) if counts is not None else []

        def refuse_unpriced() -> None:
            lines = unpriced()
            if lines:
                where = getattr(source, "source", "input")
                raise InvalidInput([InputProblem(where, None, "action", line) for line in lines], what="ingest")

        check = refuse_unpriced if strict else None
        try:
            result = write_actions(
                self.engine, self.name, PlainRows(source, refuse=True), origin=origin, progress=progress, zone=zone, before_commit=check
            )
        except HasCorrections:
            result = ingest_with_corrections(
                self.engine, self.name, source, origin=origin, progress=progress, zone=zone, before_commit=check
            )
        return replace(result, warnings=tuple(unpriced()))

    def zone(self) -> ZoneInfo | None:
        """The ledger's time zone for days and periods; None for UTC."""
        if not self._zone_read:
            self.check_schema()
            self._zone = ledger_zones.read_zone(self.engine, self.name)
            self._zone_read = True
        return self._zone

    def zone_name(self) -> str:
        """The ledger's time zone as people name it: an IANA name, or UTC."""
        return ledger_zones.zone_name(self.zone())

    def today(self) -> date:
        """Today in the ledger's time zone."""
        return ledger_zones.today_in(self.zone())

    def record_actions(self, actions: Iterable[Action]) -> WriteResult:
        """Record `Action` objects as one batch."""
        return self.ingest_rows(rows_from_actions(actions), origin="python")

    # -- corrections ----------------------------------------------------------------------

    def record_adjustments(self, adjustments: Iterable[Adjustment | Located], *, origin: str | None = None) -> CorrectionsWritten:
        """Record adjustments as one all-or-nothing batch; idempotent by key."""
        self.check_schema()
        located = [item if isinstance(item, Located) else Located("adjustments", None, item) for item in adjustments]
        return write_adjustments(self.engine, self.name, located, origin=origin or "python")

    def adjustments(self, *, kind: str | None = None, user_id: UserRef | None = None) -> list[Adjustment]:
        """The ledger's adjustments in recording order, optionally of one kind or user."""
        self.check_schema()
        user = None if user_id is None else _reference(user_id, "adjustments")
        return read_adjustments(self.engine, self.name, kind=kind, user_id=user)

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

    def merge_users(self, source: UserRef, target: UserRef, *, at: datetime | None = None, reason: str | None = None) -> CorrectionsWritten:
        """From now on every event of `source`, past and future, counts for `target` (user
        keys, or ints for integer keys)."""
        self.check_schema()
        source, target = _reference(source, "merge-users", writes=True), _reference(target, "merge-users", writes=True)
        if source == target:
            raise InvalidInput([InputProblem("merge-users", None, "target", "a user cannot be merged into itself")], what="merge")
        merge = Merge(source=source, target=target, at=at or now_utc(), reason=reason)
        return write_merge(self.engine, self.name, merge, origin="merge-users")

    # -- users ----------------------------------------------------------------------------

    def import_users(self, items: Iterable[UserNames | Located], *, origin: str | None = None) -> CorrectionsWritten:
        """Record users' usernames and display names as one batch (latest wins; the same
        names again add nothing). Names label outputs and never change a score."""
        self.check_schema()
        located = [item if isinstance(item, Located) else Located("users", None, item) for item in items]
        return write_user_names(self.engine, self.name, located, origin=origin or "python")

    def import_users_file(self, path: str, fmt: str | None = None) -> CorrectionsWritten:
        """Record the names of a CSV or JSON Lines file with columns user, username, name."""
        source = "<stdin>" if path == "-" else path
        fmt = fmt or ("csv" if path == "-" else guess_format(path))
        try:
            stream = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
        except OSError as exc:
            raise InvalidInput([InputProblem(path, None, None, exc.strerror or str(exc))], what="users import") from None
        with stream:
            records = users.read_users_file(stream, source, fmt)
        return self.import_users([Located(source, line, names) for line, names in records], origin=f"users import {Path(source).name}")

    def names_of(self, user: UserRef) -> UserNames | None:
        """The latest names of one user, or None when none were recorded."""
        self.check_schema()
        ref = _reference(user, "users")
        with read_transaction(self.engine) as conn:
            ledger_id = ledger_numbers.number_of(conn, self.name)
            number = number_of_ref(conn, ledger_id, ref)
            found = users.latest_names(conn, ledger_id, [number]).get(number) if number is not None else None
        return None if found is None else UserNames(user=ref, username=found.username, name=found.name)

    def user_names(self) -> dict[UserRef, UserNames]:
        """Every named user's latest names, by user reference."""
        self.check_schema()
        with read_transaction(self.engine) as conn:
            number = ledger_numbers.number_of(conn, self.name)
            names = users.latest_names(conn, number)
            refs = refs_of_numbers(conn, number, names)
        return {refs[user]: UserNames(user=refs[user], username=found.username, name=found.name) for user, found in names.items()}

    def _numbers(self, refs: Iterable[UserRef]) -> dict[UserRef, int]:
        """The stored number of each reference the ledger knows (integer keys always)."""
        wanted = list(refs)
        keys = [ref for ref in wanted if isinstance(ref, str)]
        with read_transaction(self.engine) as conn:
            found = numbers_of_keys(conn, ledger_numbers.number_of(conn, self.name), keys) if keys else {}
        return {ref: ref if isinstance(ref, int) else found[ref] for ref in wanted if isinstance(ref, int) or ref in found}

    def _labelled(self, rows: list[users.Row]) -> list[users.Row]:
        """Rows of stored user numbers as user references, with names (ledger/users.py)."""
        with read_transaction(self.engine) as conn:
            return users.labelled(conn, ledger_numbers.number_of(conn, self.name), rows)

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
        period: schedules.ScoringPeriodEdit | None = None,
    ) -> schedules.RecordOutcome:
        """Record a version that changes `changes` and keeps every other rule (a `RuleEdit`
        changes only the parts of a rule it names), and the scoring period unless `period`
        changes it (ledger/periods.py)."""
        self.check_schema()
        version = schedules.next_version(
            self.engine, self.name, effective_from, changes, period=period, author=author, reason=reason, link=link
        )
        return schedules.record(
            self.engine, self.name, [version], today=self.today(), retroactive=retroactive, dry_run=dry_run, origin="schedule set"
        )

    def import_schedule(
        self, stream: IO[bytes], source: str, fmt: str | None = None, *, retroactive: bool = False, dry_run: bool = False
    ) -> schedules.RecordOutcome:
        """Record every version of a schedule document as one batch."""
        self.check_schema()
        versions = read_schedule(stream, source, fmt)
        return schedules.record(
            self.engine,
            self.name,
            versions,
            today=self.today(),
            retroactive=retroactive,
            dry_run=dry_run,
            origin=f"schedule import {source}",
            as_document=True,
        )

    def record_schedule(self, versions: Sequence[ScheduleVersion], *, retroactive: bool = False) -> schedules.RecordOutcome:
        self.check_schema()
        return schedules.record(self.engine, self.name, versions, today=self.today(), retroactive=retroactive, origin="python")

    def schedule_history(self, *, as_known_at: datetime | None = None) -> list[RecordedScheduleVersion]:
        self.check_schema()
        return schedules.history(self.engine, self.name, as_known_at=as_known_at)

    def schedule_at(self, day: date | None = None, *, as_known_at: datetime | None = None) -> RecordedScheduleVersion:
        """The version in force on `day` (default: today in the ledger's time zone)."""
        self.check_schema()
        return schedules.version_at(self.engine, self.name, day or self.today(), as_known_at=as_known_at)

    def schedule_diff(
        self, from_day: date, to_day: date
    ) -> tuple[RecordedScheduleVersion | None, RecordedScheduleVersion | None, list[schedules.RuleChange]]:
        """The versions in force on `from_day` and on `to_day`, and what changed between them."""
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

    def scores(self, *, from_day: date | None = None, to_day: date | None = None, as_known_at: datetime | None = None) -> list[UserPoints]:
        """Points per user, sorted by user: from the projections, or, with `as_known_at`,
        computed from the events and schedule versions recorded by then. With a level curve
        in force, each carries its level; a never-level-down curve holds all-time scores
        (ledger/levels.py)."""
        return self._labelled(self._scores(from_day=from_day, to_day=to_day, as_known_at=as_known_at))

    def _scores(
        self, *, from_day: date | None = None, to_day: date | None = None, as_known_at: datetime | None = None
    ) -> list[replay.UserPoints]:
        """`scores` by stored user number, unlabelled."""
        self.check_schema()
        all_time = from_day is None and to_day is None
        curve_day = to_day or self.today()
        if as_known_at is not None:
            standings.check_range(from_day, to_day)
            with replay.pricing_transaction(self.engine) as conn:
                rows = replay.points_in(conn, self.name, known_at=as_known_at, from_day=from_day, to_day=to_day)
                curve = levels.curve_in_force(conn, self.name, curve_day, known_at=as_known_at)
                held = levels.held_scores(conn, curve) if curve and curve.never_level_down and all_time else {}
                return _with_levels(rows, curve, held)
        self.catch_up()
        rows = standings.projected_points(self.engine, self.name, from_day, to_day)
        with read_transaction(self.engine) as conn:
            curve = levels.curve_in_force(conn, self.name, curve_day)
            if curve is None:
                return rows
            held = {}
            if curve.never_level_down and all_time:
                held = levels.held_scores(conn, curve, ledger_id=ledger_numbers.number_of(conn, self.name))
        return _with_levels(rows, curve, held)

    def naive_scores(self, values_of: date) -> list[UserPoints]:
        """Points per user if every action were priced at the values in force on
        `values_of`, as a naive "today's values" recalculation does (retroactive drift)."""
        self.check_schema()
        with replay.pricing_transaction(self.engine) as conn:
            rows = replay.points_in(conn, self.name, values_of=values_of)
        return self._labelled(rows)

    def platform_points(self, values_of: date, *, from_day: date | None = None) -> list[UserPoints]:
        """What a platform's own recalculation from `from_day` at the values in force on
        `values_of` makes of each user's actions as they stand now (ledger/platform.py)."""
        self.check_schema()
        return platform.platform_points(self.engine, self.name, values_of=values_of, from_day=from_day, catch_up=self.catch_up)

    def daily_points(self) -> list[tuple[UserRef, date, int]]:
        """Every (user, day, points) row of the daily projection, users as references."""
        self.check_schema()
        self.catch_up()
        rows = replay.projected_daily_points(self.engine, self.name)
        allocated = {user for user, _day, _points in rows if not is_direct(user)}
        refs: dict[int, UserRef] = {}
        if allocated:
            with read_transaction(self.engine) as conn:
                refs = refs_of_numbers(conn, ledger_numbers.number_of(conn, self.name), allocated)
        return [(refs.get(user, user), day, points) for user, day, points in rows]

    def leaderboard(
        self,
        *,
        period: standings.Period = standings.Period.all,
        at: date | None = None,
        from_day: date | None = None,
        to_day: date | None = None,
        limit: int | None = None,
        ranking: standings.Ranking = standings.Ranking.dense_rank,
        exclude: Iterable[UserRef] = (),
    ) -> list[standings.Standing]:
        """The leaderboard for a period around `at` (default today in the ledger's time zone) or a day range.
        `exclude`: users left off (keys the ledger does not know are simply absent)."""
        self.check_schema()
        excluded = frozenset(self._numbers(_reference(user, "excluded users") for user in exclude).values())
        return self._labelled(self._leaderboard(period, at, from_day, to_day, limit, ranking, excluded))

    def _leaderboard(
        self,
        period: standings.Period,
        at: date | None,
        from_day: date | None,
        to_day: date | None,
        limit: int | None,
        ranking: standings.Ranking,
        exclude: frozenset[int],
    ) -> list[standings.Standing]:
        """`leaderboard` by stored user number, unlabelled."""
        self.catch_up()
        curve_day = to_day or at or self.today()
        with read_transaction(self.engine) as conn:
            curve = levels.curve_in_force(conn, self.name, curve_day)
        all_time = period == standings.Period.all and from_day is None and to_day is None
        if curve is not None and curve.never_level_down and all_time:
            return standings.ranked(self._scores(), ranking=ranking, limit=limit, exclude=exclude)
        board = standings.leaderboard(
            self.engine,
            self.name,
            period=period,
            at=at or self.today(),
            from_day=from_day,
            to_day=to_day,
            limit=limit,
            ranking=ranking,
            exclude=exclude,
        )
        if curve is None:
            return board
        return [replace(row, level=curve.level_for(row.points)) for row in board]

    def audit(self, user_id: UserRef, *, from_day: date | None = None, to_day: date | None = None) -> list[audit.AuditLine]:
        """Every line making up the points of user `user_id` (a key, or an int for an
        integer key), in order, with a running total; each line's `merged_from` is a user
        reference too. A key the ledger never recorded is UnknownUser."""
        user = _reference(user_id, "audit")
        self.check_schema()
        if isinstance(user, int):
            # An integer key is its own number: only a text key costs a look-up.
            number: int | None = user
        else:
            with read_transaction(self.engine) as conn:
                number = number_of_ref(conn, ledger_numbers.number_of(conn, self.name), user)
        if number is None:
            raise UnknownUser(self.name, user)
        lines = corrections_audit.audit(self._auditor, number, from_day, to_day, curve_day=to_day or self.today())
        merged = {line.merged_from for line in lines if isinstance(line.merged_from, int) and not is_direct(line.merged_from)}
        if merged:
            with read_transaction(self.engine) as conn:
                refs = refs_of_numbers(conn, ledger_numbers.number_of(conn, self.name), merged)
            for line in lines:
                if line.merged_from in refs:
                    line.merged_from = refs[line.merged_from]
        return lines

    def require_user(self, user_id: UserRef) -> None:
        """Raise UnknownUser unless this ledger has recorded an event of user `user_id`."""
        self.check_schema()
        user = _reference(user_id, "audit")
        number = self._numbers([user]).get(user)
        if number is None:
            raise UnknownUser(self.name, user)
        known.require_user(self.engine, self.name, number)


def _reference(value: object, where: str, *, writes: bool = False) -> UserRef:
    """`value` as a user reference (ledger/user_keys.py), or InvalidInput naming why not."""
    try:
        return user_ref(value)
    except ValueError as exc:
        raise InvalidInput([InputProblem(where, None, "user", f"{_shown(value)} {exc}")], what=where, writes=writes) from None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _with_levels(rows: list[UserPoints], curve: LevelCurve | None, held: dict[int, int]) -> list[UserPoints]:
    """`rows` with their held scores (never-level-down users who lost points) and levels."""
    if curve is None:
        return rows
    # Levels are set before `ledger.users.labelled` names users: user_id is still the stored number.
    scores = [held.get(cast(int, row.user_id), row.points) for row in rows]
    return [UserPoints(row.user_id, score, curve.level_for(score)) for row, score in zip(rows, scores, strict=True)]
