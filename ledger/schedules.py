"""Schedules: recording point-value versions and answering which values were in force when.

A version holds the complete rule set from its `effective_from` until the next version's.
Two versions with the same date: the one recorded later wins (a correction is a new event).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Engine, func, select

from ledger import ledger_numbers
from ledger.domain import RecordedScheduleVersion, Rule, ScheduleVersion, today_utc
from ledger.errors import RetroactiveChangeRefused, UnknownScheduleVersion
from ledger.replay import points_in
from ledger.store.engine import read_transaction, write_transaction
from ledger.store.journal import begin_batch, commit_batch
from ledger.store.schedules import read_versions, version_exists, write_version
from ledger.store.tables import actions


@dataclass(frozen=True)
class UserMove:
    """How a retroactive change moves one user's points."""

    user_id: int
    before: int
    after: int


@dataclass(frozen=True)
class RecordOutcome:
    """What recording some versions did: how many were new, what they reprice, and (for
    versions dated in the past) whose points they move, by how much."""

    recorded: list[ScheduleVersion]
    already_present: int
    affected_actions: int
    dry_run: bool
    moved: list[UserMove] = field(default_factory=list)
    # `moved` compares points from actions on and after this day (the earliest past version).
    moved_from: date | None = None


def in_force(versions: Sequence[RecordedScheduleVersion], day: date) -> RecordedScheduleVersion | None:
    """The version in force on `day`: latest effective_from <= day, latest recorded on ties."""
    chosen = None
    for recorded in versions:
        if recorded.version.effective_from <= day and (
            chosen is None
            or (recorded.version.effective_from, recorded.seq) > (chosen.version.effective_from, chosen.seq)
        ):
            chosen = recorded
    return chosen


def history(engine: Engine, ledger: str, *, as_known_at: datetime | None = None) -> list[RecordedScheduleVersion]:
    """Every recorded version, by effective date."""
    with read_transaction(engine) as conn:
        return read_versions(conn, ledger, as_known_at=as_known_at)


def version_at(
    engine: Engine, ledger: str, day: date | None = None, *, as_known_at: datetime | None = None
) -> RecordedScheduleVersion:
    """The version in force on `day` (default: today, UTC)."""
    day = day or today_utc()
    found = in_force(history(engine, ledger, as_known_at=as_known_at), day)
    if found is None:
        raise UnknownScheduleVersion(f"no schedule version is in force on {day.isoformat()} in ledger {ledger!r}")
    return found


def next_version(engine: Engine, ledger: str, effective_from: date, changes: dict[str, Rule], **details: str | None) -> ScheduleVersion:
    """A version dated `effective_from` that changes `changes` and keeps every other rule
    of the version in force on that date."""
    base = in_force(history(engine, ledger), effective_from)
    rules = dict(base.version.rules) if base else {}
    rules.update(changes)
    levels = base.version.levels if base else None
    return ScheduleVersion(effective_from=effective_from, rules=rules, levels=levels, **details)


def record(
    engine: Engine,
    ledger: str,
    versions: Sequence[ScheduleVersion],
    *,
    retroactive: bool = False,
    dry_run: bool = False,
    origin: str | None = None,
) -> RecordOutcome:
    """Record `versions` as one all-or-nothing batch. Versions already recorded are skipped.

    A version dated before today is refused unless `retroactive` is set: it would reprice
    actions the ledger already knows about.
    """
    today = today_utc()
    past = sorted({v.effective_from for v in versions if v.effective_from < today})
    if past and not retroactive:
        dates = ", ".join(day.isoformat() for day in past)
        raise RetroactiveChangeRefused(
            f"effective_from {dates} is before today ({today.isoformat()}): it would reprice "
            "past actions; pass --retroactive to record it anyway"
        )
    with write_transaction(engine) as conn:
        existing = read_versions(conn, ledger)
        fresh: list[ScheduleVersion] = []
        for version in versions:
            if version not in fresh and not version_exists(conn, ledger, version):
                fresh.append(version)
        affected = _count_repriced(conn, ledger, existing, fresh)
        moved_from = min((v.effective_from for v in fresh if v.effective_from < today), default=None)
        before = points_in(conn, ledger, from_day=moved_from) if moved_from and affected else []
        # A dry run writes inside a savepoint it then rolls back: the moves are measured by
        # the same pricing on the same rows, and nothing stays.
        with conn.begin_nested() as savepoint:
            if fresh:
                batch = begin_batch(conn, ledger, "schedule", origin)
                for version in sorted(fresh, key=lambda v: v.effective_from):
                    write_version(conn, batch, ledger, version, retroactive=version.effective_from < today)
                commit_batch(conn, batch)
            after = points_in(conn, ledger, from_day=moved_from) if moved_from and affected else []
            if dry_run:
                savepoint.rollback()
        return RecordOutcome(fresh, len(versions) - len(fresh), affected, dry_run, _moves(before, after), moved_from)


def _moves(before: list, after: list) -> list[UserMove]:  # type: ignore[type-arg]
    """Users whose points differ between two pricings, most moved first."""
    old = {entry.user_id: entry.points for entry in before}
    new = {entry.user_id: entry.points for entry in after}
    moves = [UserMove(user, old.get(user, 0), new.get(user, 0)) for user in old.keys() | new.keys() if old.get(user, 0) != new.get(user, 0)]
    return sorted(moves, key=lambda move: (-abs(move.after - move.before), move.user_id))


def _count_repriced(conn, ledger: str, existing: list[RecordedScheduleVersion], fresh: list[ScheduleVersion]) -> int:  # type: ignore[no-untyped-def]
    """How many recorded actions fall under a new version whose rule for them differs from
    the rule that priced them before."""
    total = 0
    number = ledger_numbers.number_of(conn, ledger)
    timeline = sorted(
        [(r.version.effective_from, r.seq, r.version) for r in existing]
        + [(v.effective_from, 10**18 + i, v) for i, v in enumerate(fresh)]
    )
    for index, (start, _, version) in enumerate(timeline):
        if not any(version is candidate for candidate in fresh):
            continue
        end = next((later for later, _, _ in timeline[index + 1 :] if later > start), None)
        before = in_force(existing, start)
        old_rules = before.version.rules if before else {}
        changed = [
            action
            for action in set(old_rules) | set(version.rules)
            if old_rules.get(action) != version.rules.get(action)
        ]
        if not changed:
            continue
        query = select(func.count()).select_from(actions).where(
            actions.c.ledger_id == number, actions.c.day >= start, actions.c.action.in_(changed)
        )
        if end is not None:
            query = query.where(actions.c.day < end)
        total += conn.execute(query).scalar_one()
    return total


@dataclass(frozen=True)
class RuleChange:
    action: str
    before: Rule | None
    after: Rule | None


def diff(engine: Engine, ledger: str, from_day: date, to_day: date) -> tuple[RecordedScheduleVersion | None, RecordedScheduleVersion | None, list[RuleChange]]:
    """What changed between the versions in force on `from_day` and on `to_day`."""
    versions = history(engine, ledger)
    before, after = in_force(versions, from_day), in_force(versions, to_day)
    old = before.version.rules if before else {}
    new = after.version.rules if after else {}
    changes = [
        RuleChange(action, old.get(action), new.get(action))
        for action in sorted(set(old) | set(new))
        if old.get(action) != new.get(action)
    ]
    return before, after, changes
