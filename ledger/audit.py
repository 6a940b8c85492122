"""The per-user audit: every line that makes up a user's points, in order.

Each line says when, what (action type, source_key, quantity, attributes), which schedule
version priced it (its effective_from and reason), the rule, the points, and the running
total. A `per` rule prices a (user, day, action) bucket rather than an event, so a bucket
is one line listing its events. Points come from the same SQL pricing as `recalc`
(sql/replay.sql, `audit_user`), so the last running total equals the user's score.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine

from ledger.pricing import FIRST_DAY, LAST_DAY, as_day, run
from ledger.standings import check_range
from ledger.store.engine import read_transaction


@dataclass
class AuditLine:
    """One priced event, or one bucket of events for a `per` rule."""

    when: datetime
    day: date
    action: str
    source_keys: list[str]
    quantity: int
    attributes: str
    effective_from: date | None
    reason: str | None
    rule: str
    points: int
    running_total: int = 0
    events: int = field(default=1)

    @property
    def source_key(self) -> str:
        return ", ".join(self.source_keys)


def describe_rule(row: Any) -> str:
    """The rule that priced `row`, in words."""
    if row.version_seq is None:
        return "no schedule in force"
    if row.rule_action is None:
        return "no rule for this action"
    minimum = f", min {row.min_quantity}" if row.min_quantity else ""
    if row.per is not None:
        return f"{row.value} per {row.per}/day{minimum}"
    if row.by_attribute is not None:
        return f"by {row.by_attribute}: {row.by_points if row.by_points is not None else 0} each{minimum}"
    return f"{row.value} each{minimum}"


def audit(engine: Engine, ledger: str, user_id: int, from_day: date | None = None, to_day: date | None = None) -> list[AuditLine]:
    """The lines making up `user_id`'s points from actions on `from_day`..`to_day`."""
    check_range(from_day, to_day)
    with read_transaction(engine) as conn:
        rows = list(run(conn, "audit_user", ledger=ledger, user_id=user_id, from_day=from_day or FIRST_DAY, to_day=to_day or LAST_DAY))
    lines: list[AuditLine] = []
    buckets: dict[tuple[date, str], AuditLine] = {}
    for row in rows:
        day = as_day(row.day)
        bucket = buckets.get((day, row.action)) if row.per is not None else None
        if bucket is not None:
            bucket.source_keys.append(row.source_key)
            bucket.quantity += row.quantity
            bucket.events += 1
            continue
        line = AuditLine(
            when=row.occurred_at if isinstance(row.occurred_at, datetime) else datetime.fromisoformat(row.occurred_at),
            day=day,
            action=row.action,
            source_keys=[row.source_key],
            quantity=row.quantity,
            attributes=row.attributes,
            effective_from=as_day(row.effective_from) if row.effective_from is not None else None,
            reason=row.reason,
            rule=describe_rule(row),
            points=int(row.bucket_points if row.per is not None else row.event_points),
        )
        if row.per is not None:
            buckets[(day, row.action)] = line
        lines.append(line)
    total = 0
    for line in lines:
        total += line.points
        line.running_total = total
    return lines
