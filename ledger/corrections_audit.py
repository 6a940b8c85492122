"""The whole audit of a user: its actions (ledger/audit.py), those of users merged into it,
and a line for each correction and adjustment booked on the days asked about.

Corrections are priced by ledger/overlay.py's `correction_deltas`, as recalculations price
them, so the last running total still equals the user's score. A compensation is shown with
what was sent, at 0 points: it is not part of the ledger's own total.

An audit is one `Auditor.read`: one connection, the schedule the auditor keeps, prepared
statements. The first (`audit_members`) says whose events count and which of them have
adjustments or corrections, so a user with none costs no statement for them; a `per`
bucket's counted quantity, which its corrections are priced from, comes from the lines
already read where they cover its day; the level curve comes from the schedule.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import groupby
from typing import Any, cast

from sqlalchemy import Connection, select

from ledger.audit import AuditLine, Auditor, Schedule, audit_statement_named, lines_of, plain_rows, require_whole_schedule
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
from ledger.store.tables import actions, merges, schedule_rule_points
from ledger.store.user_keys import refs_of_numbers
from ledger.time_bounds import FIRST_DAY, LAST_DAY, as_day, as_moment

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
    auditor: Auditor, user_id: int, from_day: date | None = None, to_day: date | None = None, *, curve_day: date | None = None
) -> list[AuditLine]:
    """Every line that makes up `user_id`'s points on `from_day`..`to_day`, in order; with a
    level curve in force on `curve_day`, the lines a never-level-down score was held by, and
    a last line with the level reached."""
    check_range(from_day, to_day)
    first, last = from_day or FIRST_DAY, to_day or LAST_DAY
    lines, curve = auditor.read(lambda conn, schedule: _read(conn, schedule, auditor.ledger, user_id, first, last, curve_day))
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


def _read(
    conn: Connection, schedule: Schedule, ledger: str, user_id: int, first: date, last: date, curve_day: date | None
) -> tuple[list[AuditLine], LevelCurve | None]:
    """The audit's lines, from one connection, priced by `schedule`, and the level curve.
    Statements for adjustments and corrections run only for the members that have them."""
    dialect = dialect_of(conn).name
    days = {"ledger": ledger, "from_day": first, "to_day": last}
    found = plain_rows(conn.execute(audit_statement_named("audit_members", dialect), {**days, "user_id": user_id}))
    if found[0][MERGED_INTO_COLUMN] is not None:
        _refuse_merged(conn, ledger, user_id)
    require_whole_schedule(found, MEMBER_VERSIONS_COLUMN, schedule)
    flags = {member: (bool(adjusted), bool(corrected)) for member, adjusted, corrected, _into, _versions in found}
    members = [user_id, *sorted(member for member in flags if member != user_id)]
    lines: list[AuditLine] = []
    # Per member with corrections: its `per` buckets' counted quantities, from its own lines.
    counted: dict[int, dict[tuple[date, str], int]] = {}
    for member in members:
        if flags[member][1]:
            counted[member] = {}
        member_lines = lines_of(conn, {**days, "user_id": member}, schedule, counted.get(member))
        if member != user_id:
            for line in member_lines:
                line.merged_from = member
        lines.extend(member_lines)
    adjustment_lines = _adjustment_lines(conn, days, [member for member in members if flags[member][0]], user_id)
    corrected = [member for member in sorted(members) if flags[member][1]]
    correction_lines = _correction_lines(conn, schedule, days, corrected, counted, user_id) if corrected else []
    if len(members) > 1:
        lines.extend(adjustment_lines)
        lines.extend(correction_lines)
        lines.sort(key=_in_order)
        _running_totals(lines)
    elif adjustment_lines or correction_lines:
        # One member's lines are in order already (by day, then time): only the few others
        # are placed among them, each after its equals, as the stable sort above would.
        for line in sorted([*adjustment_lines, *correction_lines], key=_in_order):
            lines.insert(bisect_right(lines, _in_order(line), key=_in_order), line)
        _running_totals(lines)
    return lines, schedule.curve_on(curve_day) if curve_day is not None else None


# Where `audit_members` rows give the user the audited one is merged into, and how many
# versions the ledger has.
MERGED_INTO_COLUMN = 3
MEMBER_VERSIONS_COLUMN = 4
# Where `audit_corrections` rows give how many versions the ledger has.
CORRECTION_VERSIONS_COLUMN = 12


def _refuse_merged(conn: Connection, ledger: str, user_id: int) -> None:
    """Raise the error for auditing a user merged into another, naming where its chain ends."""
    number = ledger_numbers.number_of(conn, ledger)
    targets = resolve_chains(
        dict(conn.execute(select(merges.c.source_user, merges.c.target_user).where(merges.c.ledger_id == number)).all())
    )
    refs = refs_of_numbers(conn, number, [user_id, targets[user_id]])
    raise InvalidInput(
        [InputProblem("audit", None, "user", f"user {refs[user_id]} is merged into user {refs[targets[user_id]]}: audit that user")],
        what="audit",
    )


def _in_order(line: AuditLine) -> tuple[date, datetime]:
    return line.day, line.when


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


def _adjustment_lines(conn: Connection, days: dict[str, Any], members: list[int], audited: int) -> list[AuditLine]:
    """The adjustments of `members` on the days asked for, in (day, booking) order."""
    found: list[tuple[date, int, int, str, str, int, str]] = []
    for member in members:
        rows = plain_rows(conn.execute(audit_statement_named("audit_adjustments", dialect_of(conn).name), {**days, "user_id": member}))
        found.extend((as_day(day), seq, member, key, kind, points, reason) for day, seq, key, kind, points, reason in rows)
    if len(members) > 1:
        found.sort(key=lambda row: row[:2])
    lines = []
    for day, _seq, member, key, kind, points, reason in found:
        counted = kind != "compensation"
        lines.append(
            AuditLine(
                datetime.combine(day, time()),
                day,
                "adjustment",
                [key],
                0,
                "",
                None,
                reason,
                ADJUSTMENT_RULES[kind].format(points=points),
                points if counted else 0,
                kind=kind if kind == "compensation" else "adjustment",
                merged_from=member if member != audited else None,
            )
        )
    return lines


def _stored_corrections(conn: Connection, schedule: Schedule, days: dict[str, Any], members: list[int]) -> list[tuple[int, tuple]]:
    """Every correction of `members` (in user order), each with its user."""
    stored: list[tuple[int, tuple]] = []
    for member in members:
        rows = plain_rows(
            conn.execute(
                audit_statement_named("audit_corrections", dialect_of(conn).name, days=False), {"ledger": days["ledger"], "user_id": member}
            )
        )
        # Priced by `schedule`: it must have every version of these rows' snapshot.
        require_whole_schedule(rows, CORRECTION_VERSIONS_COLUMN, schedule)
        stored.extend((member, row) for row in rows)
    return stored


def _correction_lines(
    conn: Connection,
    schedule: Schedule,
    days: dict[str, Any],
    members: list[int],
    counted: dict[int, dict[tuple[date, str], int]],
    audited: int,
) -> list[AuditLine]:
    """A line per correction of `members` booked on the days asked for, priced with every
    correction of its bucket (a `per` bucket's deltas depend on what was booked before).
    `counted`: each member's `per` buckets' counted quantities on those days, from its lines."""
    ledger, first, last = days["ledger"], days["from_day"], days["to_day"]
    stored = _stored_corrections(conn, schedule, days, members)
    by_tables = _by_tables(conn, schedule)
    gate = schedule.gate
    number = ledger_numbers.number_of(conn, ledger) if gate is not None or first != FIRST_DAY or last != LAST_DAY else None
    closed: dict[str, str | None] = {}
    if gate is not None:
        # A correction follows its action's scoring period (ledger/periods.py).
        keys = sorted({stored_row[4] for _member, stored_row in stored})
        query = select(actions.c.source_key, actions.c.day, actions.c.seq).where(
            actions.c.ledger_id == number, actions.c.source_key.in_(keys)
        )
        closed = {key: gate.why(as_day(day), seq) for key, day, seq in conn.execute(query)}
    found: list[_Correction] = []
    for member, stored_row in stored:
        stored_day, action, day, seq, source_key, kind, booked_at, reason, old_quantity, old_attributes, new_quantity, new_attributes, _ = (
            stored_row
        )
        action_day = as_day(stored_day)
        version = schedule.version_on(action_day)
        value, per, min_quantity, by_attribute = (
            schedule.rules.get((version, action), (None, None, None, None)) if version else (None, None, None, None)
        )
        rule = PricingRule(value, per, min_quantity, by_attribute, by_tables.get((version, action)) if version is not None else None)
        # An action that may not earn counts in no state: its corrections book nothing.
        gated = closed.get(source_key) is not None
        found.append(
            _Correction(
                CorrectionRow(
                    member,
                    action_day,
                    action,
                    as_day(day),
                    seq,
                    None if gated else old_quantity,
                    old_attributes,
                    None if gated else new_quantity,
                    new_attributes,
                    rule,
                ),
                source_key,
                kind,
                as_moment(booked_at),
                reason,
                version,
            )
        )
    lines = []
    for (user_id, action_day, action), group in groupby(found, key=lambda c: (c.row.user_id, c.row.action_day, c.row.action)):
        bucket = list(group)
        rule = bucket[0].row.rule
        if rule.per is None:
            first_counted = 0
        elif first <= action_day <= last:
            # The bucket's actions are among the lines read: counted there as here.
            first_counted = counted[user_id].get((action_day, action), 0)
        else:
            first_counted = _first_counted(conn, cast(int, number), user_id, action_day, action, rule, gate)
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
    """What each `by` rule's table gives, read once per schedule (rules never change)."""
    if schedule.by_tables is not None:
        return schedule.by_tables
    versions = sorted({seq for (seq, _action), rule in schedule.rules.items() if rule[3] is not None})
    tables: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
    if versions:
        query = select(schedule_rule_points).where(schedule_rule_points.c.version_seq.in_(versions))
        for row in conn.execute(query):
            tables[(row.version_seq, row.action)][row.attribute_value] = row.points
    schedule.by_tables = dict(tables)
    return schedule.by_tables


def _first_counted(conn: Connection, number: int, user_id: int, day: date, action: str, rule: PricingRule, gate: Gate | None) -> int:
    """A `per` bucket's counted quantity as first recorded, for one whose day the audit's
    lines do not cover."""
    query = select(actions.c.quantity, actions.c.seq).where(
        actions.c.ledger_id == number, actions.c.day == day, actions.c.user_id == user_id, actions.c.action == action
    )
    return sum(rule.counted(quantity) for quantity, seq in conn.execute(query) if gate is None or gate.why(day, seq) is None)
