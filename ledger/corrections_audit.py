"""The whole audit of a user: its actions (ledger/audit.py), those of users merged into it,
and a line for each correction and adjustment booked on the days asked about.

Corrections are priced by ledger/overlay.py's `correction_deltas`, as recalculations price
them, so the last running total still equals the user's score. A compensation is shown with
what was sent, at 0 points: it is not part of the ledger's own total.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, select

from ledger.audit import AuditLine, Auditor, Schedule, plain_rows, rules_statement
from ledger.domain import MAX_INTEGER, LevelCurve
from ledger.errors import InputProblem, InvalidInput
from ledger.levels import walk
from ledger.overlay import CorrectionRow, PricingRule, correction_deltas
from ledger.periods import Gate
from ledger.rule_words import NO_RULE, NO_SCHEDULE, describe
from ledger.standings import check_range
from ledger.store import ledger_numbers
from ledger.store.corrections import resolve_chains
from ledger.store.dialects import dialect_of
from ledger.store.engine import read_transaction
from ledger.store.tables import actions, adjustments, corrections, merges, schedule_rule_points
from ledger.store.user_keys import refs_of_numbers
from ledger.time_bounds import FIRST_DAY, LAST_DAY, as_day

ADJUSTMENT_RULES = {
    "manual": "manual adjustment",
    "imported": "imported score event",
    "compensation": "compensation sent out ({points:+d}), not counted",
}


@dataclass(frozen=True)
class _Correction:
    """A stored correction with what its audit line shows."""

    row: CorrectionRow
    source_key: str
    kind: str
    booked_at: datetime
    reason: str | None
    version_seq: int | None


def audit(
    auditor: Auditor, user_id: int, from_day: date | None = None, to_day: date | None = None, *, curve: LevelCurve | None = None
) -> list[AuditLine]:
    """Every line that makes up `user_id`'s points on `from_day`..`to_day`, in order; with a
    level `curve`, the lines a never-level-down score was held by, and a last line with the
    level reached."""
    check_range(from_day, to_day)
    first, last = from_day or FIRST_DAY, to_day or LAST_DAY
    with read_transaction(auditor.engine) as conn:
        number = ledger_numbers.number_of(conn, auditor.ledger)
        targets = resolve_chains(
            dict(conn.execute(select(merges.c.source_user, merges.c.target_user).where(merges.c.ledger_id == number)).all())
        )
        if user_id in targets:
            refs = refs_of_numbers(conn, number, [user_id, targets[user_id]])
            raise InvalidInput(
                [
                    InputProblem(
                        "audit", None, "user", f"user {refs[user_id]} is merged into user {refs[targets[user_id]]}: audit that user"
                    )
                ],
                what="audit",
            )
        members = [user_id, *sorted(source for source, target in targets.items() if target == user_id)]
        adjustment_lines = _adjustment_lines(conn, number, members, first, last)
        stored = _stored_corrections(conn, number, members)
        correction_lines = _correction_lines(conn, auditor.ledger, number, stored, first, last, user_id) if stored else []
    lines: list[AuditLine] = []
    for member in members:
        member_lines = auditor.action_lines(member, from_day, to_day)
        if member != user_id:
            for line in member_lines:
                line.merged_from = member
        lines.extend(member_lines)
    if len(members) > 1 or adjustment_lines or correction_lines:
        lines.extend(adjustment_lines)
        lines.extend(correction_lines)
        lines.sort(key=lambda line: (line.day, line.when))
        _running_totals(lines)
    if curve is None or not lines:
        return lines
    if curve.never_level_down and from_day is None and to_day is None:
        lines = _with_holds(lines, curve)
    total = lines[-1].running_total if lines else 0
    last_day = lines[-1].day if lines else first
    lines.append(
        AuditLine(
            datetime.combine(last_day, time.max),
            last_day,
            "level",
            [],
            0,
            "",
            None,
            None,
            f"level {curve.level_for(total)} ({_curve_text(curve)})",
            0,
            total,
            kind="level",
        )
    )
    return lines


def _running_totals(lines: list[AuditLine]) -> None:
    total = 0
    for line in lines:
        total += line.points
        line.running_total = total


def _with_holds(lines: list[AuditLine], curve: LevelCurve) -> list[AuditLine]:
    """`lines` with a `hold` line at the end of each day a loss took the score below the
    start of the highest level reached (ledger/levels.py `walk`, day by day)."""
    daily = [(day, sum(line.points for line in group)) for day, group in groupby(lines, key=lambda line: line.day)]
    _total, holds = walk(daily, curve)
    if not holds:
        return lines
    held = {hold.day: hold for hold in holds}
    result: list[AuditLine] = []
    for day, group in groupby(lines, key=lambda line: line.day):
        result.extend(group)
        hold = held.get(day)
        if hold is not None:
            result.append(
                AuditLine(
                    datetime.combine(day, time.max),
                    day,
                    "level hold",
                    [],
                    0,
                    "",
                    None,
                    None,
                    f"held at {curve.threshold(hold.level)}, the start of level {hold.level} (never level down)",
                    hold.points,
                    kind="hold",
                )
            )
    _running_totals(result)
    return result


def _curve_text(curve: LevelCurve) -> str:
    starts = ", ".join(str(curve.threshold(level)) for level in range(1, 6) if curve.threshold(level) <= MAX_INTEGER)
    shape = f"quadratic, coefficient {curve.coefficient}" if curve.kind == "quadratic" else "thresholds"
    return f"{shape}: levels start at {starts}{' ...' if curve.kind == 'quadratic' else ''}" + (
        "; never level down" if curve.never_level_down else ""
    )


def _adjustment_lines(conn: Connection, number: int, members: list[int], first: date, last: date) -> list[AuditLine]:
    query = (
        select(adjustments)
        .where(adjustments.c.ledger_id == number, adjustments.c.user_id.in_(members), adjustments.c.day >= first, adjustments.c.day <= last)
        .order_by(adjustments.c.day, adjustments.c.seq)
    )
    lines = []
    for row in conn.execute(query):
        day = as_day(row.day)
        counted = row.kind != "compensation"
        lines.append(
            AuditLine(
                datetime.combine(day, time()),
                day,
                "adjustment",
                [row.adjustment_key],
                0,
                "",
                None,
                row.reason,
                ADJUSTMENT_RULES[row.kind].format(points=row.points),
                row.points if counted else 0,
                kind=row.kind if row.kind == "compensation" else "adjustment",
                merged_from=row.user_id if row.user_id != members[0] else None,
            )
        )
    return lines


def _stored_corrections(conn: Connection, number: int, members: list[int]) -> Sequence[Any]:
    query = (
        select(corrections)
        .where(corrections.c.ledger_id == number, corrections.c.user_id.in_(members))
        .order_by(corrections.c.user_id, corrections.c.action_day, corrections.c.action, corrections.c.day, corrections.c.seq)
    )
    return conn.execute(query).all()


def _correction_lines(
    conn: Connection, ledger: str, number: int, stored: Sequence[Any], first: date, last: date, audited: int
) -> list[AuditLine]:
    """A line per correction booked on `first`..`last`, priced with every correction of its
    bucket (a `per` bucket's deltas depend on what was booked before)."""
    schedule = Schedule(plain_rows(conn.execute(rules_statement(dialect_of(conn).name), {"ledger": ledger})))
    by_tables = _by_tables(conn, schedule)
    gate = schedule.gate
    closed: dict[str, str | None] = {}
    if gate is not None:
        # A correction follows its action's scoring period (ledger/periods.py).
        keys = sorted({row.source_key for row in stored})
        query = select(actions.c.source_key, actions.c.day, actions.c.seq).where(
            actions.c.ledger_id == number, actions.c.source_key.in_(keys)
        )
        closed = {key: gate.why(as_day(day), seq) for key, day, seq in conn.execute(query)}
    found: list[_Correction] = []
    for row in stored:
        action_day = as_day(row.action_day)
        version = schedule.version_on(action_day)
        value, per, min_quantity, by_attribute = (
            schedule.rules.get((version, row.action), (None, None, None, None)) if version else (None, None, None, None)
        )
        rule = PricingRule(value, per, min_quantity, by_attribute, by_tables.get((version, row.action)) if version is not None else None)
        # An action that may not earn counts in no state: its corrections book nothing.
        gated = closed.get(row.source_key) is not None
        found.append(
            _Correction(
                CorrectionRow(
                    row.user_id,
                    action_day,
                    row.action,
                    as_day(row.day),
                    row.seq,
                    None if gated else row.old_quantity,
                    row.old_attributes,
                    None if gated else row.new_quantity,
                    row.new_attributes,
                    rule,
                ),
                row.source_key,
                row.kind,
                row.booked_at,
                row.reason,
                version,
            )
        )
    lines = []
    for (user_id, action_day, action), group in groupby(found, key=lambda c: (c.row.user_id, c.row.action_day, c.row.action)):
        bucket = list(group)
        first_counted = _first_counted(conn, number, user_id, action_day, action, bucket[0].row.rule, gate)
        for (row, points), correction in zip(correction_deltas([c.row for c in bucket], first_counted), bucket, strict=True):
            if not first <= row.day <= last:
                continue
            effective_from, version_reason = (
                schedule.versions.get(correction.version_seq, (None, None)) if correction.version_seq else (None, None)
            )
            rule = row.rule
            if correction.version_seq is None:
                text = NO_SCHEDULE
            elif rule.value is None:
                text = NO_RULE
            else:
                text = describe(
                    action,
                    rule.value,
                    per=rule.per,
                    min_quantity=rule.min_quantity,
                    by_attribute=rule.by_attribute,
                    by_points=rule.by_points,
                )
            why = closed.get(correction.source_key)
            if why is not None:
                text = f"nothing: {why} ({text})"
            lines.append(
                AuditLine(
                    correction.booked_at,
                    row.day,
                    action,
                    [correction.source_key],
                    row.new_quantity if row.new_quantity is not None else 0,
                    row.new_attributes or "",
                    effective_from,
                    correction.reason or version_reason,
                    f"{correction.kind} of the action of {action_day.isoformat()}, priced {text}",
                    points,
                    kind=correction.kind,
                    merged_from=user_id if user_id != audited else None,
                )
            )
    return lines


def _by_tables(conn: Connection, schedule: Schedule) -> dict[tuple[int, str], dict[str, int]]:
    versions = sorted({seq for (seq, _action), rule in schedule.rules.items() if rule[3] is not None})
    tables: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
    if versions:
        query = select(schedule_rule_points).where(schedule_rule_points.c.version_seq.in_(versions))
        for row in conn.execute(query):
            tables[(row.version_seq, row.action)][row.attribute_value] = row.points
    return tables


def _first_counted(conn: Connection, number: int, user_id: int, day: date, action: str, rule: PricingRule, gate: Gate | None) -> int:
    if rule.per is None:
        return 0
    query = select(actions.c.quantity, actions.c.seq).where(
        actions.c.ledger_id == number, actions.c.day == day, actions.c.user_id == user_id, actions.c.action == action
    )
    return sum(rule.counted(quantity) for quantity, seq in conn.execute(query) if gate is None or gate.why(day, seq) is None)
