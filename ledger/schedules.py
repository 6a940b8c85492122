"""Schedules: recording point-value versions and answering which values were in force when.

A version holds the complete rule set from its `effective_from` until the next version's.
Two versions with the same date: the one recorded later wins (a correction is a new event).

What is skipped as already recorded: a version whose content is already the version in
force from its date (the latest recorded with that date), and a whole document imported
before (recognised by the digest of its versions, which its batch's origin names). So
re-running an import adds nothing, while setting x=1, then x=2, then x=1 again on one date
records three versions, and x=1 is in force.

A version dated more than FAR_FUTURE_DAYS after today is "far in the future": the command
line asks for confirmation (`--yes`) before recording one, as such a date is usually a typo.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import cast

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, func, select

from ledger.domain import RecordedScheduleVersion, Rule, ScheduleVersion, UserPoints, canonical_json
from ledger.errors import InputProblem, InvalidInput, RetroactiveChangeRefused, UnknownScheduleVersion
from ledger.in_force import in_force_on
from ledger.replay import points_in
from ledger.rule_edits import RuleEdit
from ledger.store import ledger_numbers
from ledger.store.engine import read_transaction, write_transaction
from ledger.store.journal import begin_batch, commit_batch
from ledger.store.quantity_caps import value_allowed
from ledger.store.schedules import document_origin, document_recorded, read_versions, write_version
from ledger.store.tables import actions
from ledger.store.user_keys import refs_of_numbers
from ledger.user_keys import is_direct

# A date more than this many days after the ledger's today is far in the future.
FAR_FUTURE_DAYS = 365


@dataclass(frozen=True)
class UserMove:
    """How a change moves one user's points."""

    user_id: int | str
    before: int
    after: int


@dataclass(frozen=True)
class RuleChange:
    """One action's rule before and after a change (None: no rule)."""

    action: str
    before: Rule | None
    after: Rule | None


@dataclass(frozen=True)
class RecordOutcome:
    """What recording some versions did: which were new (with the rules each changes against
    the version in force before it on its date), how many were skipped, how many recorded
    actions they reprice, and whose points they move, by how much."""

    recorded: list[ScheduleVersion]
    already_present: int
    affected_actions: int
    dry_run: bool
    moved: list[UserMove] = field(default_factory=list)
    # `moved` compares points from actions on and after this day (the earliest new version).
    moved_from: date | None = None
    # For each recorded version, in the same order: the rules it changes.
    changes: list[list[RuleChange]] = field(default_factory=list)
    # True when the whole document had been imported before (nothing was compared).
    document_seen: bool = False


def far_future(day: date, today: date) -> bool:
    """Whether `day` is more than FAR_FUTURE_DAYS after `today` (the ledger's)."""
    return day > today + timedelta(days=FAR_FUTURE_DAYS)


def unknown_actions(versions: Sequence[RecordedScheduleVersion], names: Sequence[str]) -> list[str]:
    """The names in `names` that no recorded version has ever priced (had a rule for)."""
    known = {action for recorded in versions for action in recorded.version.rules}
    return [name for name in names if name not in known]


def known_actions(versions: Sequence[RecordedScheduleVersion]) -> list[str]:
    """Every action some recorded version has a rule for, by name."""
    return sorted({action for recorded in versions for action in recorded.version.rules})


def document_digest(versions: Sequence[ScheduleVersion]) -> str:
    """A digest of a document's versions, in order: the same document in any format (or
    re-read) has the same digest."""
    body = canonical_json([version.to_document() for version in versions])
    return hashlib.sha256(body.encode()).hexdigest()


def in_force(versions: Sequence[RecordedScheduleVersion], day: date) -> RecordedScheduleVersion | None:
    """The version in force on `day` (ledger/in_force.py says which)."""
    return in_force_on(((recorded.version.effective_from, recorded.seq, recorded) for recorded in versions), day)


def history(engine: Engine, ledger: str, *, as_known_at: datetime | None = None) -> list[RecordedScheduleVersion]:
    """Every recorded version, by effective date."""
    with read_transaction(engine) as conn:
        return read_versions(conn, ledger, as_known_at=as_known_at)


def version_at(engine: Engine, ledger: str, day: date, *, as_known_at: datetime | None = None) -> RecordedScheduleVersion:
    """The version in force on `day`."""
    found = in_force(history(engine, ledger, as_known_at=as_known_at), day)
    if found is None:
        raise UnknownScheduleVersion(f"no schedule version is in force on {day.isoformat()} in ledger {ledger!r}")
    return found


def next_version(
    engine: Engine,
    ledger: str,
    effective_from: date,
    changes: Mapping[str, Rule | RuleEdit],
    *,
    period: ScoringPeriodEdit | None = None,
    **details: str | None,
) -> ScheduleVersion:
    """A version dated `effective_from` that changes `changes` and keeps every other rule
    of the version in force on that date, and its scoring period unless `period` changes it.
    A `Rule` replaces the action's rule; a `RuleEdit` changes only the parts it names."""
    base = in_force(history(engine, ledger), effective_from)
    rules = dict(base.version.rules) if base else {}
    for action, change in changes.items():
        rules[action] = change.apply(action, rules.get(action)) if isinstance(change, RuleEdit) else change
    levels = base.version.levels if base else None
    enabled = base.version.enabled if base else True
    start_date = base.version.start_date if base else None
    if period is not None:
        enabled = period.enabled if period.enabled is not None else enabled
        start_date = period.start_date if period.change_start else start_date
    try:
        return ScheduleVersion(effective_from=effective_from, rules=rules, levels=levels, enabled=enabled, start_date=start_date, **details)
    except ValidationError as exc:
        problems = [
            InputProblem(
                ".".join(str(part) for part in error["loc"]) or "version", None, None, str(error["msg"]).removeprefix("Value error, ")
            )
            for error in exc.errors()
        ]
        raise InvalidInput(problems, what="schedule set") from None


@dataclass(frozen=True)
class ScoringPeriodEdit:
    """A change to the scoring period a new version inherits: `enabled` None keeps it; with
    `change_start`, `start_date` replaces the start date (None removes it)."""

    enabled: bool | None = None
    change_start: bool = False
    start_date: date | None = None


def scoring_words(version: ScheduleVersion) -> str:
    """A version's scoring period in words: "on", "off", or "from 2024-02-01"."""
    if not version.enabled:
        return "off"
    return f"from {version.start_date.isoformat()}" if version.start_date is not None else "on"


def record(
    engine: Engine,
    ledger: str,
    versions: Sequence[ScheduleVersion],
    *,
    today: date,
    retroactive: bool = False,
    dry_run: bool = False,
    origin: str | None = None,
    as_document: bool = False,
) -> RecordOutcome:
    """Record `versions` as one all-or-nothing batch, skipping each version already in force
    from its date and, with `as_document` (an import), the whole list when that document was
    recorded before.

    A new version dated before `today` (the ledger's, in its time zone) is refused unless `retroactive` is set: it would
    reprice actions the ledger already knows about. Whenever new versions reprice recorded
    actions (a past date, today, or a day future-dated actions fall on), the outcome lists
    the users whose points move.
    """
    digest = document_digest(versions) if as_document else None
    with write_transaction(engine) as conn:
        existing = read_versions(conn, ledger)
        if digest is not None and document_recorded(conn, ledger, digest):
            return RecordOutcome([], len(versions), 0, dry_run, document_seen=True)
        ordered = sorted(_fresh(existing, versions), key=lambda v: v.effective_from)
        past = sorted({v.effective_from for v in ordered if v.effective_from < today})
        if past and not retroactive:
            dates = ", ".join(day.isoformat() for day in past)
            raise RetroactiveChangeRefused(
                f"effective_from {dates} is before today ({today.isoformat()}): it would reprice "
                "past actions; pass `retroactive` to record it anyway"
            )
        _refuse_overflowing_values(conn, ledger, ordered)
        affected = _count_repriced(conn, ledger, existing, ordered)
        moved_from = ordered[0].effective_from if affected else None
        before = points_in(conn, ledger, from_day=moved_from) if moved_from else []
        # A dry run writes inside a savepoint it then rolls back: the moves are measured by
        # the same pricing on the same rows, and nothing stays.
        with conn.begin_nested() as savepoint:
            if ordered:
                batch = begin_batch(conn, ledger, "schedule", document_origin(origin, digest) if digest else origin)
                for version in ordered:
                    write_version(conn, batch, ledger, version, retroactive=version.effective_from < today)
                commit_batch(conn, batch)
            after = points_in(conn, ledger, from_day=moved_from) if moved_from else []
            if dry_run:
                savepoint.rollback()
        moves = _moves(before, after)
        # Movers are computed by stored number: name them by their keys.
        stored = [cast(int, move.user_id) for move in moves]
        allocated = [number for number in stored if not is_direct(number)]
        if allocated:
            refs = refs_of_numbers(conn, ledger_numbers.number_of(conn, ledger), allocated)
            moves = [replace(move, user_id=refs.get(number, number)) for move, number in zip(moves, stored, strict=True)]
        return RecordOutcome(ordered, len(versions) - len(ordered), affected, dry_run, moves, moved_from, _changes(existing, ordered))


def _refuse_overflowing_values(conn: Connection, ledger: str, versions: Sequence[ScheduleVersion]) -> None:
    """Refuse versions whose point values could take the ledger's scores past 64 bits, given
    the quantities and adjustments it holds (ledger/store/quantity_caps.py)."""
    allowed, reason = value_allowed(conn, ledger)
    problems = [
        InputProblem(f"version {version.effective_from.isoformat()}", None, action, f"a point value {reason}")
        for version in versions
        for action, rule in sorted(version.rules.items())
        if max([abs(rule.value), *(abs(points) for points in rule.by_points.values())]) > allowed
    ]
    if problems:
        raise InvalidInput(problems, what="schedule")


def _fresh(existing: Sequence[RecordedScheduleVersion], versions: Sequence[ScheduleVersion]) -> list[ScheduleVersion]:
    """The versions to record, in the given order: each one that is not already the latest
    of its date (recorded, or given before it)."""
    latest: dict[date, ScheduleVersion] = {}
    for recorded in sorted(existing, key=lambda r: r.seq):
        latest[recorded.version.effective_from] = recorded.version
    fresh: list[ScheduleVersion] = []
    for version in versions:
        if latest.get(version.effective_from) != version:
            fresh.append(version)
            latest[version.effective_from] = version
    return fresh


def _after_every_seq(index: int) -> int:
    """A sequence number for a version not written yet: after every recorded one."""
    return 2**62 + index


Timeline = list[tuple[date, int, ScheduleVersion]]


def _timeline(existing: Sequence[RecordedScheduleVersion]) -> Timeline:
    return [(recorded.version.effective_from, recorded.seq, recorded.version) for recorded in existing]


def rule_changes(old: Mapping[str, Rule], new: Mapping[str, Rule]) -> list[RuleChange]:
    """The actions whose rule differs between two rule sets, by name."""
    return [
        RuleChange(action, old.get(action), new.get(action)) for action in sorted(set(old) | set(new)) if old.get(action) != new.get(action)
    ]


def _changes(existing: Sequence[RecordedScheduleVersion], ordered: Sequence[ScheduleVersion]) -> list[list[RuleChange]]:
    """For each new version (in recording order), the rules it changes against the version
    in force on its date just before it."""
    timeline = _timeline(existing)
    result = []
    for index, version in enumerate(ordered):
        previous = in_force_on(timeline, version.effective_from)
        result.append(rule_changes(previous.rules if previous else {}, version.rules))
        timeline.append((version.effective_from, _after_every_seq(index), version))
    return result


def _moves(before: Sequence[UserPoints], after: Sequence[UserPoints]) -> list[UserMove]:
    """Users whose points differ between two pricings, most moved first."""
    old = {entry.user_id: entry.points for entry in before}
    new = {entry.user_id: entry.points for entry in after}
    moves = [UserMove(user, old.get(user, 0), new.get(user, 0)) for user in old.keys() | new.keys() if old.get(user, 0) != new.get(user, 0)]
    return sorted(moves, key=lambda move: (-abs(move.after - move.before), move.user_id))


def _count_repriced(conn: Connection, ledger: str, existing: Sequence[RecordedScheduleVersion], ordered: Sequence[ScheduleVersion]) -> int:
    """How many recorded actions the new versions reprice: those on a day whose rule for
    their action differs once the new versions are recorded."""
    if not ordered:
        return 0
    old_timeline = _timeline(existing)
    new_timeline = old_timeline + [(v.effective_from, _after_every_seq(i), v) for i, v in enumerate(ordered)]
    starts = sorted({start for start, _, _ in new_timeline if start >= ordered[0].effective_from})
    number = ledger_numbers.number_of(conn, ledger)
    total = 0
    for index, start in enumerate(starts):
        old, new = in_force_on(old_timeline, start), in_force_on(new_timeline, start)
        changed = [change.action for change in rule_changes(old.rules if old else {}, new.rules if new else {})]
        if not changed:
            continue
        query = (
            select(func.count())
            .select_from(actions)
            .where(actions.c.ledger_id == number, actions.c.day >= start, actions.c.action.in_(changed))
        )
        if index + 1 < len(starts):
            query = query.where(actions.c.day < starts[index + 1])
        total += conn.execute(query).scalar_one()
    return total


def diff(
    engine: Engine, ledger: str, from_day: date, to_day: date
) -> tuple[RecordedScheduleVersion | None, RecordedScheduleVersion | None, list[RuleChange]]:
    """What changed between the versions in force on `from_day` and on `to_day`."""
    versions = history(engine, ledger)
    before, after = in_force(versions, from_day), in_force(versions, to_day)
    changes = rule_changes(before.version.rules if before else {}, after.version.rules if after else {})
    return before, after, changes
