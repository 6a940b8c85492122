"""Writing and reading corrections: adjustments, retractions / reinstatements / amendments of
recorded actions, and merges of users. Each write is one all-or-nothing batch of the journal.

Adjustments are idempotent by key as actions are by source_key. A correction row carries the
action's state before and after it, read here under the journal lock, so that pricing books
the difference without replaying the key's history (ledger/overlay.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ARRAY, Connection, Engine, String, any_, cast, literal, select
from sqlalchemy.pool import QueuePool

from ledger.domain import (
    ActionState,
    Adjustment,
    Amendment,
    Correction,
    Located,
    Merge,
    Reinstatement,
    Retraction,
    canonical_json,
)
from ledger.errors import InputProblem, InvalidInput
from ledger.store import ledger_numbers
from ledger.store.dialects import dialect_of, planner_settings
from ledger.store.engine import read_transaction, write_transaction
from ledger.store.event_rows import insert_events
from ledger.store.journal import PendingBatch, begin_batch, commit_batch
from ledger.store.ledger_zones import local_day, zone_of
from ledger.store.quantity_caps import adjustment_problems, amendment_problems
from ledger.store.tables import ACTION_ROW_COLUMNS, actions, adjustments, compensation_intents, corrections, merges
from ledger.store.user_keys import KeyRegistry, number_of_ref, refs_of_numbers
from ledger.user_keys import UserRef


@dataclass(frozen=True)
class CorrectionsWritten:
    """What a write of corrections, adjustments or a merge did."""

    new: int
    already_present: int
    batch_id: int | None


ADJUSTMENT_FIELDS = ("user_id", "points", "on", "reason", "kind", "author", "reference")


def _insert_events(conn: Connection, batch: PendingBatch, table: Any, rows: list[dict[str, Any]]) -> None:
    """Append `rows` to `table` in `batch`: sequence numbers, hash, insert."""
    insert_events(conn, batch, table, rows)


# Builds a batch's rows under the journal lock: (rows, how many were already present).
_Build = Callable[[Connection, int, KeyRegistry], tuple[list[dict[str, Any]], int]]


def _write_batch(
    engine: Engine, ledger: str, kind: str, origin: str | None, table: Any, build: _Build, *, check_only: bool = False
) -> CorrectionsWritten:
    """One batch of `table` rows, built by `build(conn, number, registry)` -> (rows, already
    present) under the journal lock; nothing is written when it raises, builds no rows, or when
    only checking (`check_only`: the rows it would write are counted). User keys the rows
    needed numbers for (`registry`) are recorded first in the same batch."""
    number = ledger_numbers.ensure(engine, ledger)
    with write_transaction(engine) as conn:
        registry = KeyRegistry(conn, number)
        rows, present = build(conn, number, registry)
        if check_only:
            return CorrectionsWritten(len(rows), present, None)
        if not rows:
            return CorrectionsWritten(0, present, None)
        batch = begin_batch(conn, ledger, kind, origin)
        registry.record_new(batch, ledger)
        for row in rows:
            row["ledger"] = ledger
            row["ledger_id"] = number
        _insert_events(conn, batch, table, rows)
        commit_batch(conn, batch)
        return CorrectionsWritten(len(rows), present, batch.batch_id)


# -- adjustments ------------------------------------------------------------------------------


def write_adjustments(engine: Engine, ledger: str, items: Sequence[Located], *, origin: str | None = None) -> CorrectionsWritten:
    """Record adjustments as one batch: a key seen before with the same payload is skipped,
    with another payload refused naming the fields that differ."""

    def build(conn: Connection, number: int, registry: KeyRegistry) -> tuple[list[dict[str, Any]], int]:
        recorded = _recorded_adjustments(conn, number, [located.item.key for located in items])
        problems: list[InputProblem] = []
        rows: list[dict[str, Any]] = []
        seen: dict[str, Located] = {}
        admitted: list[tuple[str, int | None, int]] = []
        present = 0
        for located in items:
            adjustment: Adjustment = located.item
            earlier = recorded.get(adjustment.key) or (seen[adjustment.key].item if adjustment.key in seen else None)
            if earlier is not None:
                differing = [name for name in ADJUSTMENT_FIELDS if getattr(earlier, name) != getattr(adjustment, name)]
                if differing:
                    problems.append(
                        InputProblem(
                            located.source,
                            located.line,
                            ", ".join(differing),
                            f"adjustment key {adjustment.key!r} is already recorded with a different "
                            + "; ".join(
                                f"{name} (recorded {getattr(earlier, name)!s}, given {getattr(adjustment, name)!s})" for name in differing
                            ),
                        )
                    )
                else:
                    present += 1
                continue
            seen[adjustment.key] = located
            admitted.append((located.source, located.line, adjustment.points))
            rows.append(
                {
                    "adjustment_key": adjustment.key,
                    "user_id": registry.number(adjustment.user_id),
                    "points": adjustment.points,
                    "day": adjustment.on,
                    "kind": adjustment.kind,
                    "reason": adjustment.reason,
                    "author": adjustment.author,
                    "reference": adjustment.reference,
                }
            )
        problems = problems or adjustment_problems(conn, number, admitted)
        if problems:
            raise InvalidInput(problems, what="adjustments")
        return rows, present

    return _write_batch(engine, ledger, "adjustments", origin, adjustments, build)


def _adjustment_of(row: Any, refs: dict[int, UserRef]) -> Adjustment:
    return Adjustment(
        key=row.adjustment_key,
        user_id=refs[row.user_id],
        points=row.points,
        on=row.day,
        reason=row.reason,
        kind=row.kind,
        author=row.author,
        reference=row.reference,
    )


def _recorded_adjustments(conn: Connection, number: int, keys: list[str]) -> dict[str, Adjustment]:
    found: dict[str, Adjustment] = {}
    for start in range(0, len(keys), 500):
        query = select(adjustments).where(adjustments.c.ledger_id == number, adjustments.c.adjustment_key.in_(keys[start : start + 500]))
        rows = conn.execute(query).all()
        refs = refs_of_numbers(conn, number, {row.user_id for row in rows})
        for row in rows:
            found[row.adjustment_key] = _adjustment_of(row, refs)
    return found


def read_adjustments(engine: Engine, ledger: str, *, kind: str | None = None, user_id: UserRef | None = None) -> list[Adjustment]:
    """The ledger's adjustments in recording order, optionally of one kind or user (a user
    reference, ledger/user_keys.py)."""
    with read_transaction(engine) as conn:
        number = ledger_numbers.number_of(conn, ledger)
        query = select(adjustments).where(adjustments.c.ledger_id == number)
        if kind is not None:
            query = query.where(adjustments.c.kind == kind)
        if user_id is not None:
            user_number = number_of_ref(conn, number, user_id)
            if user_number is None:
                return []
            query = query.where(adjustments.c.user_id == user_number)
        rows = conn.execute(query.order_by(adjustments.c.seq)).all()
        refs = refs_of_numbers(conn, number, {row.user_id for row in rows})
        return [_adjustment_of(row, refs) for row in rows]


# -- corrections of actions -------------------------------------------------------------------


@dataclass
class _KeyState:
    """A key's state while a batch of corrections is checked: the action, then each correction."""

    user_id: int
    action: str
    occurred_at: datetime
    quantity: int
    attributes: str
    active: bool
    last_kind: str | None
    last_at: datetime | None

    def correct(self, kind: str, booked_at: datetime, quantity: int | None, attributes: str | None) -> None:
        """The state after a correction (`quantity` None: it stops counting)."""
        self.active = quantity is not None
        if quantity is not None:
            # A correction that leaves the action counting stores its measure whole.
            assert attributes is not None
            self.quantity, self.attributes = quantity, attributes
        self.last_kind, self.last_at = kind, booked_at

    def as_state(self, source_key: str, user: UserRef) -> ActionState:
        """The state, its user given as `user` (the reference of its number)."""
        return ActionState(
            source_key=source_key,
            user_id=user,
            action=self.action,
            occurred_at=self.occurred_at,
            quantity=self.quantity,
            attributes=json.loads(self.attributes),
            active=self.active,
            last_changed_at=self.last_at,
        )


def _states(conn: Connection, number: int, keys: Iterable[str] | None, *, locked: bool = False) -> dict[str, _KeyState]:
    """Each key's current state: the recorded action, then its corrections in seq order.

    `locked`: the caller holds the journal lock in a READ COMMITTED transaction that has not
    written yet, so another session sees what `conn` sees. On PostgreSQL a second session
    then looks up half of a large batch's keys at once: each lookup mostly waits for pages of
    the actions' key and table to be read, which two sessions do side by side."""
    if keys is None:
        return _every_state(conn, number)
    wanted = list(dict.fromkeys(keys))
    if not (locked and dialect_of(conn).is_postgresql and len(wanted) >= SPLIT_LOOKUP_FROM and _spare_connection(conn.engine)):
        return _states_of(conn, number, wanted)
    half = len(wanted) // 2
    with ThreadPoolExecutor(max_workers=1) as pool:
        beside = pool.submit(_states_in_own_session, conn.engine, number, wanted[half:])
        states = _states_of(conn, number, wanted[:half])
        states.update(beside.result())
    return states


# Fewer keys than this are looked up in the caller's session alone: a second session's
# connection and thread cost more than it would save them.
SPLIT_LOOKUP_FROM = 4_000


def _spare_connection(engine: Engine) -> bool:
    """Whether the engine's pool hands out another connection at once: one that would have to
    wait might wait for a writer that is itself queued behind the journal lock held here."""
    pool = engine.pool
    return isinstance(pool, QueuePool) and pool.checkedout() < pool.size()


def _states_in_own_session(engine: Engine, number: int, keys: list[str]) -> dict[str, _KeyState]:
    with engine.connect() as conn, conn.begin():
        return _states_of(conn, number, keys)


def _states_of(conn: Connection, number: int, wanted: list[str]) -> dict[str, _KeyState]:
    """`_states` of distinct `wanted` keys, in `conn`'s session."""
    # PostgreSQL takes a chunk of keys as one array parameter: an IN list of as many
    # parameters is rendered and parsed afresh for every chunk.
    postgres = dialect_of(conn).is_postgresql
    size = 10_000 if postgres else 500
    states: dict[str, _KeyState] = {}
    with _probed_by_key(conn):
        for start in range(0, len(wanted), size):
            for key, user_id, action, occurred_at, quantity, attributes, kind, booked_at, new_quantity, new_attributes in conn.execute(
                _states_query(number, wanted[start : start + size], postgres)
            ):
                state = states.get(key)
                if state is None:
                    state = states[key] = _KeyState(user_id, action, occurred_at, quantity, attributes, True, None, None)
                if kind is not None:
                    state.correct(kind, booked_at, new_quantity, new_attributes)
    return states


def _states_query(number: int, keys: list[str], postgres: bool) -> Any:
    """One chunk of `_states`: each key's action joined to its corrections, which lie in the
    action's bucket (user, day, action), so the few keys with corrections are found through
    the bucket index, not by scanning every correction once per chunk."""
    in_bucket = (
        (corrections.c.ledger_id == actions.c.ledger_id)
        & (corrections.c.user_id == actions.c.user_id)
        & (corrections.c.action_day == actions.c.day)
        & (corrections.c.action == actions.c.action)
        & (corrections.c.source_key == actions.c.source_key)
    )
    return (
        select(*ACTION_ROW_COLUMNS, *_CORRECTION_COLUMNS)
        .select_from(actions.outerjoin(corrections, in_bucket))
        .where(actions.c.ledger_id == number, _key_in(actions.c.source_key, keys, postgres))
        .order_by(corrections.c.seq)
    )


def _probed_by_key(conn: Connection) -> AbstractContextManager[None]:
    """PostgreSQL's plan for `_states`: each key looked up in the actions' key, then its
    bucket in the corrections' (ix_corrections_bucket), in one process. The planner's costs
    otherwise pick a hash join that reads every correction of the database, and parallel
    workers that take longer to start than the lookups take."""
    return planner_settings(conn, enable_hashjoin="off", enable_mergejoin="off", max_parallel_workers_per_gather="0", random_page_cost="1")


_CORRECTION_COLUMNS = (corrections.c.kind, corrections.c.booked_at, corrections.c.new_quantity, corrections.c.new_attributes)


def _every_state(conn: Connection, number: int) -> dict[str, _KeyState]:
    """`_states` of every recorded action: its actions, then its corrections, each read whole."""
    states: dict[str, _KeyState] = {}
    for key, user_id, action, occurred_at, quantity, attributes in conn.execute(
        select(*ACTION_ROW_COLUMNS).where(actions.c.ledger_id == number)
    ):
        states[key] = _KeyState(user_id, action, occurred_at, quantity, attributes, True, None, None)
    query = select(corrections.c.source_key, *_CORRECTION_COLUMNS).where(corrections.c.ledger_id == number).order_by(corrections.c.seq)
    for key, kind, booked_at, new_quantity, new_attributes in conn.execute(query):
        states[key].correct(kind, booked_at, new_quantity, new_attributes)
    return states


def _key_in(column: Any, keys: list[str], postgres: bool) -> Any:
    if postgres:
        return column == any_(cast(literal(keys, ARRAY(String)), ARRAY(String)))
    return column.in_(keys)


def read_action_states(engine: Engine, ledger: str, keys: Iterable[str] | None = None) -> dict[str, ActionState]:
    """Recorded actions (all, or those of `keys`) as they stand after their corrections."""
    with read_transaction(engine) as conn:
        number = ledger_numbers.number_of(conn, ledger)
        states = _states(conn, number, keys)
        refs = refs_of_numbers(conn, number, {state.user_id for state in states.values()})
        return {key: state.as_state(key, refs[state.user_id]) for key, state in states.items()}


CORRECTION_KINDS = {Retraction: "retraction", Reinstatement: "reinstatement", Amendment: "amendment"}


def write_corrections(
    engine: Engine, ledger: str, items: Sequence[Located], *, origin: str | None = None, check_only: bool = False
) -> CorrectionsWritten:
    """Record retractions, reinstatements and amendments as one batch, in the order given.

    Refused (every problem reported, nothing written): an unknown key; a correction dated
    before its action happened or before the key's last correction; retracting a retracted
    key or reinstating an active one (the same correction at the same time again is a no-op,
    so a re-run of a file adds nothing); amending a retracted key. An amendment to the
    state already recorded is a no-op."""

    def build(conn: Connection, number: int, registry: KeyRegistry) -> tuple[list[dict[str, Any]], int]:
        states = _states(conn, number, [located.item.source_key for located in items], locked=True)
        zone = zone_of(conn, ledger)
        problems: list[InputProblem] = []
        rows: list[dict[str, Any]] = []
        # Quantities amendments add count towards the ledger's bound (ledger/store/quantity_caps.py).
        added: list[tuple[str, int | None, int]] = []
        present = 0
        for located in items:
            correction: Correction = located.item
            kind = CORRECTION_KINDS[type(correction)]
            state = states.get(correction.source_key)
            problem = _problem(correction, kind, state, zone)
            if problem == "no-op":
                present += 1
                continue
            if problem is not None:
                problems.append(InputProblem(located.source, located.line, "source_key", f"{correction.source_key!r}: {problem}"))
                continue
            assert state is not None
            row: dict[str, Any] = {
                "source_key": correction.source_key,
                "kind": kind,
                "booked_at": correction.at,
                "day": local_day(correction.at, zone),
                "reason": correction.reason,
                "user_id": state.user_id,
                "action": state.action,
                "action_day": local_day(state.occurred_at, zone),
                "old_quantity": state.quantity if state.active else None,
                "old_attributes": state.attributes if state.active else None,
            }
            if isinstance(correction, Amendment):
                state.quantity, state.attributes = correction.quantity, canonical_json(correction.attributes)
                state.active = True
            elif isinstance(correction, Reinstatement):
                state.active = True
            else:
                state.active = False
            row["new_quantity"] = state.quantity if state.active else None
            if row["old_quantity"] is not None and row["new_quantity"] is not None and row["new_quantity"] > row["old_quantity"]:
                added.append((located.source, located.line, row["new_quantity"] - row["old_quantity"]))
            row["new_attributes"] = state.attributes if state.active else None
            state.last_kind, state.last_at = kind, correction.at
            rows.append(row)
        problems = problems or amendment_problems(conn, number, added, record=not check_only)
        if problems:
            raise InvalidInput(problems, what="corrections")
        return rows, present

    return _write_batch(engine, ledger, "corrections", origin, corrections, build, check_only=check_only)


def _problem(correction: Correction, kind: str, state: _KeyState | None, zone: ZoneInfo | None) -> str | None:
    """Why `correction` cannot apply to `state`; "no-op" when it is already reflected."""
    if state is None:
        return "no action with this source_key is recorded"
    repeated = state.last_kind == kind and state.last_at == correction.at
    if isinstance(correction, Amendment):
        if not state.active:
            return "the action is retracted; reinstate it before amending it"
        if correction.quantity == state.quantity and canonical_json(correction.attributes) == state.attributes:
            return "no-op"
    elif isinstance(correction, Retraction) and not state.active:
        return "no-op" if repeated else "already retracted"
    elif isinstance(correction, Reinstatement) and state.active:
        return "no-op" if repeated else "not retracted, nothing to reinstate"
    if local_day(correction.at, zone) < local_day(state.occurred_at, zone):
        return f"dated {correction.at.isoformat(' ')}, before the action happened ({state.occurred_at.isoformat(' ')})"
    if state.last_at is not None and correction.at < state.last_at:
        return f"dated {correction.at.isoformat(' ')}, before the key's last correction ({state.last_at.isoformat(' ')})"
    return None


# -- merges -----------------------------------------------------------------------------------


def merge_targets(conn: Connection, number: int, *, known_at: datetime | None = None) -> dict[int, int]:
    """Each merged user's final target (chains followed), from the merges known at `known_at`."""
    query = select(merges.c.source_user, merges.c.target_user).where(merges.c.ledger_id == number)
    if known_at is not None:
        query = query.where(merges.c.recorded_at <= known_at)
    direct = dict(conn.execute(query.order_by(merges.c.seq)).all())
    return resolve_chains(direct)


def resolve_chains(direct: dict[int, int]) -> dict[int, int]:
    """Follow merge chains (A into B, B into C: A's target is C). Merges are checked acyclic
    when written, so every chain ends."""
    resolved: dict[int, int] = {}
    for source in direct:
        target = direct[source]
        seen = {source}
        while target in direct and target not in seen:
            seen.add(target)
            target = direct[target]
        resolved[source] = target
    return resolved


def write_merge(engine: Engine, ledger: str, merge: Merge, *, origin: str | None = None) -> CorrectionsWritten:
    """Record that `merge.source` is merged into `merge.target`. Refused: a user already
    merged (into another target; the same merge again is a no-op), or a merge that would
    close a cycle."""

    def build(conn: Connection, number: int, registry: KeyRegistry) -> tuple[list[dict[str, Any]], int]:
        direct = dict(conn.execute(select(merges.c.source_user, merges.c.target_user).where(merges.c.ledger_id == number)).all())
        source, target = registry.number(merge.source), registry.number(merge.target)
        where = "merge-users"
        if source in direct:
            if direct[source] == target:
                return [], 1
            merged_into = refs_of_numbers(conn, number, [direct[source]])[direct[source]]
            raise InvalidInput(
                [InputProblem(where, None, "source", f"user {merge.source} is already merged into user {merged_into}")], what="merge"
            )
        final = resolve_chains({**direct, source: target})[source]
        if final == source:
            raise InvalidInput(
                [
                    InputProblem(
                        where,
                        None,
                        "target",
                        f"user {merge.target} is merged into user {merge.source} already: this merge would close a cycle",
                    )
                ],
                what="merge",
            )
        return [{"source_user": source, "target_user": target, "merged_at": merge.at, "reason": merge.reason}], 0

    return _write_batch(engine, ledger, "merge", origin, merges, build)


# -- compensations sent to outside systems ----------------------------------------------------


@dataclass(frozen=True)
class CompensationIntent:
    """A compensation about to be sent: recorded before the send (see tables.py)."""

    key: str
    user_id: int
    points: int
    on: Any
    reason: str


def write_compensation_intents(engine: Engine, ledger: str, intents: Sequence[CompensationIntent]) -> CorrectionsWritten:
    """Record, as one batch, that `intents` are about to be sent (again, after an interrupted
    send: each attempt is its own event)."""

    def build(conn: Connection, number: int, registry: KeyRegistry) -> tuple[list[dict[str, Any]], int]:
        return [
            {"intent_key": intent.key, "user_id": intent.user_id, "points": intent.points, "day": intent.on, "reason": intent.reason}
            for intent in intents
        ], 0

    return _write_batch(engine, ledger, "compensation intent", "compensation", compensation_intents, build)


def read_compensation_intents(engine: Engine, ledger: str) -> dict[str, CompensationIntent]:
    """The latest intent of each key, in recording order."""
    with read_transaction(engine) as conn:
        number = ledger_numbers.number_of(conn, ledger)
        query = select(compensation_intents).where(compensation_intents.c.ledger_id == number).order_by(compensation_intents.c.seq)
        return {
            row.intent_key: CompensationIntent(row.intent_key, row.user_id, row.points, row.day, row.reason) for row in conn.execute(query)
        }
