"""What corrections, adjustments and merges add to a recalculation's scope.

Actions are priced set-based in SQL (sql/replay.sql `price`). On top of them, every scoped
(user, day) gets what is booked on it (replay_overlay): counted adjustments, and the deltas
of corrections. A correction is booked on its own day and priced at the version in force on
its action's day: for a plain or `by` rule it books the new state's points minus the old
state's; for a `per` rule, the difference it makes to its bucket, whose counted quantity is
the actions as first recorded plus every correction booked on or before its day. Merged
users' points go to their targets (replay_user_targets).

Recalculations price corrections set-based in SQL (sql/corrections.sql
`fill_replay_overlay_corrections`); the audit prices its lines one by one with
`correction_deltas` here (ledger/corrections_audit.py): the two must agree.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby

from sqlalchemy import Connection, Date, TextClause, bindparam

from ledger.domain import canonical_json
from ledger.sqlfiles import statement
from ledger.store.corrections import merge_targets
from ledger.store.dialects import dialect_of
from ledger.store.statements import run
from ledger.time_bounds import END_OF_TIME

# A journal seq beyond any recorded: "every event".
EVERY_SEQ = 2**62


@dataclass(frozen=True)
class PricingRule:
    """A rule as pricing needs it; `value` None: no rule for the action (earns nothing)."""

    value: int | None
    per: int | None
    min_quantity: int | None
    by_attribute: str | None = None
    by_points: dict[str, int] | None = None

    def counted(self, quantity: int | None) -> int:
        """The quantity an event adds to a `per` bucket (0 below min_quantity, or no state)."""
        if quantity is None or quantity < (self.min_quantity or 0):
            return 0
        return quantity

    def event_points(self, quantity: int | None, attributes: str | None) -> int:
        """What one event earns under a plain or `by` rule (as `bucket_points` prices it)."""
        if self.value is None or quantity is None or quantity < (self.min_quantity or 0):
            return 0
        if self.by_attribute is not None:
            text = _attribute_text(attributes, self.by_attribute)
            return quantity * (self.by_points or {}).get(text, 0) if text is not None else 0
        return self.value * quantity


def _attribute_text(attributes: str | None, name: str) -> str | None:
    """An attribute's value as text, as sql's `attribute_as_text` reads it: strings as they
    are, true/false, other values in their canonical JSON spelling; missing or null: None."""
    if attributes is None:
        return None
    value = json.loads(attributes).get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return canonical_json(value)


@dataclass(frozen=True)
class CorrectionRow:
    """One correction of a bucket, with the rule in force on its action's day."""

    user_id: int
    action_day: date
    action: str
    day: date
    seq: int
    old_quantity: int | None
    old_attributes: str | None
    new_quantity: int | None
    new_attributes: str | None
    rule: PricingRule


def correction_deltas(rows: Sequence[CorrectionRow], first_counted: int) -> list[tuple[CorrectionRow, int]]:
    """Each correction of one bucket (in booking order) with the points it books. For a `per`
    rule, the bucket starts at `first_counted` (its actions' counted quantity as first
    recorded); a day's corrections together book the change in the bucket's points, given to
    the day's first correction, the others 0."""
    rule = rows[0].rule
    priced: list[tuple[CorrectionRow, int]] = []
    if rule.per is None:
        for row in rows:
            priced.append(
                (row, rule.event_points(row.new_quantity, row.new_attributes) - rule.event_points(row.old_quantity, row.old_attributes))
            )
        return priced
    counted = first_counted
    for _day, same_day in groupby(rows, key=lambda row: row.day):
        day_rows = list(same_day)
        change = sum(rule.counted(row.new_quantity) - rule.counted(row.old_quantity) for row in day_rows)
        points = (((counted + change) // rule.per) - (counted // rule.per)) * (rule.value or 0)
        counted += change
        priced.append((day_rows[0], points))
        priced.extend((row, 0) for row in day_rows[1:])
    return priced


def fill_user_targets(conn: Connection, ledger_id: int, known_at: datetime = END_OF_TIME) -> dict[int, int]:
    """replay_user_targets from the merges known at `known_at`; returns them."""
    targets = merge_targets(conn, ledger_id, known_at=known_at)
    if targets:
        conn.execute(
            _statement(conn, "insert_replay_user_target"),
            [{"user_id": source, "target": target} for source, target in targets.items()],
        )
        # Fresh temporary tables have no statistics: the merged users, a few, are looked up
        # in the events' and projections' indexes only when the planner knows how few.
        dialect_of(conn).analyze(conn, "replay_user_targets")
    return targets


def fill_overlay(
    conn: Connection, ledger_id: int, known_at: datetime = END_OF_TIME, *, current_state: bool = False, shifted_after: int | None = None
) -> bool:
    """replay_members from replay_pairs, then replay_overlay for the scope: counted
    adjustments and correction deltas booked on whole days or member (user, day)s, both
    priced in SQL (sql/corrections.sql `fill_replay_overlay_corrections`).

    `shifted_after`: the journal seq an incremental run starts after, when it has shifted
    pairs (replay_shifted): each of those gets its daily row plus what the events recorded
    since change on it, and its actions are not priced again. Such a run has no whole days.

    `current_state`: as a platform recomputing from its own tables sees it, each action as it
    stands now, on its own day, and no adjustments (ledger/platform.py).

    Returns whether any action is left to price (False: every pair is shifted)."""
    members = run(conn, "fill_replay_members").rowcount
    dialect = dialect_of(conn)
    # The planner's costs for the per-bucket lookups below run high enough for JIT
    # compilation, which takes longer than the statements themselves (as in `price_scope`).
    dialect.set_local(conn, "jit", "off")
    # Fresh temporary tables have no statistics; the statements below look pairs up in them.
    dialect.analyze(conn, "replay_members", "replay_shifted")
    # A run whose every pair is shifted books nothing on whole days or members.
    only_shifted = shifted_after is not None and members == 0
    if not only_shifted:
        if not current_state:
            run(conn, "fill_replay_overlay_adjustments", ledger_id=ledger_id, known_at=known_at)
        _book_corrections(conn, ledger_id, known_at, current_state=current_state)
    if shifted_after is not None and run(conn, "has_replay_shifted").scalar():
        run(conn, "fill_replay_overlay_shifted", ledger_id=ledger_id, after_seq=shifted_after)
        _book_corrections(conn, ledger_id, known_at, shifted_after=shifted_after)
        _book_corrections(conn, ledger_id, known_at, shifted_after=shifted_after, through_seq=shifted_after, sign=-1)
    return not only_shifted


def _book_corrections(
    conn: Connection,
    ledger_id: int,
    known_at: datetime,
    *,
    current_state: bool = False,
    shifted_after: int | None = None,
    through_seq: int = EVERY_SEQ,
    sign: int = 1,
) -> None:
    """What the corrections up to `through_seq` book on the scope (with `shifted_after`: on
    the shifted pairs, in the buckets events recorded after it touch), times `sign`, into
    replay_overlay."""
    run(conn, "clear_replay_correction_buckets")
    scope = {
        "ledger_id": ledger_id,
        "known_at": known_at,
        "every_known": int(known_at >= END_OF_TIME),
        "through_seq": through_seq,
        "shifted": int(shifted_after is not None),
        "after_seq": shifted_after or 0,
    }
    run(conn, "fill_replay_correction_buckets", **scope)
    dialect_of(conn).analyze(conn, "replay_correction_buckets")
    run(conn, "fill_replay_overlay_corrections", **scope, current_state=int(current_state), sign=sign)


def _statement(conn: Connection, name: str) -> TextClause:
    """A named statement with its dates typed, for executemany (`run` binds one row)."""
    clause = statement(name, dialect_of(conn).name)
    if ":day" in clause.text:
        clause = clause.bindparams(bindparam("day", type_=Date()))
    return clause
