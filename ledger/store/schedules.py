"""Writing and reading schedule versions (with their rules) as events."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, insert, select

from ledger.domain import LevelCurve, RecordedScheduleVersion, Rule, ScheduleVersion, canonical_json
from ledger.store.canonical import schedule_version_bytes
from ledger.store.journal import PendingBatch
from ledger.store.tables import schedule_rule_points, schedule_rules, schedule_versions


def version_exists(conn: Connection, ledger: str, version: ScheduleVersion) -> bool:
    return (
        conn.execute(
            select(schedule_versions.c.seq).where(
                schedule_versions.c.ledger == ledger,
                schedule_versions.c.version_key == version.content_key(),
            )
        ).first()
        is not None
    )


def write_version(
    conn: Connection, batch: PendingBatch, ledger: str, version: ScheduleVersion, *, retroactive: bool
) -> int:
    """Append one version and its rules to `batch`. Returns the version's sequence number."""
    seq = batch.next_seq()
    levels = canonical_json(version.levels.to_document()) if version.levels else None
    conn.execute(
        insert(schedule_versions).values(
            seq=seq,
            batch_id=batch.batch_id,
            ledger=ledger,
            version_key=version.content_key(),
            effective_from=version.effective_from,
            levels=levels,
            author=version.author,
            reason=version.reason,
            link=version.link,
            retroactive=retroactive,
            recorded_at=batch.recorded_at,
        )
    )
    # The version's whole document is hashed: rules and points tables included.
    batch.add_event_bytes(
        schedule_version_bytes(seq, ledger, retroactive, canonical_json(version.to_document()))
    )
    rule_rows = [
        {
            "version_seq": seq,
            "action": action,
            "value": rule.value,
            "per": rule.per,
            "min_quantity": rule.min_quantity,
            "by_attribute": rule.by_attribute,
        }
        for action, rule in sorted(version.rules.items())
    ]
    if rule_rows:
        conn.execute(insert(schedule_rules), rule_rows)
    point_rows = [
        {"version_seq": seq, "action": action, "attribute_value": value, "points": points}
        for action, rule in sorted(version.rules.items())
        for value, points in sorted(rule.by_points.items())
    ]
    if point_rows:
        conn.execute(insert(schedule_rule_points), point_rows)
    return seq


def read_versions(
    conn: Connection, ledger: str, *, as_known_at: datetime | None = None
) -> list[RecordedScheduleVersion]:
    """Every version of `ledger` (recorded by `as_known_at`, if given), by date then seq."""
    query = select(schedule_versions).where(schedule_versions.c.ledger == ledger)
    if as_known_at is not None:
        query = query.where(schedule_versions.c.recorded_at <= as_known_at)
    headers = conn.execute(
        query.order_by(schedule_versions.c.effective_from, schedule_versions.c.seq)
    ).all()
    if not headers:
        return []
    seqs = [header.seq for header in headers]
    rules: dict[int, dict[str, dict]] = {seq: {} for seq in seqs}
    for row in conn.execute(select(schedule_rules).where(schedule_rules.c.version_seq.in_(seqs))):
        rules[row.version_seq][row.action] = {
            "value": row.value,
            "per": row.per,
            "min_quantity": row.min_quantity,
            "by": {row.by_attribute: {}} if row.by_attribute else None,
        }
    for row in conn.execute(
        select(schedule_rule_points).where(schedule_rule_points.c.version_seq.in_(seqs))
    ):
        table = rules[row.version_seq][row.action]["by"]
        next(iter(table.values()))[row.attribute_value] = row.points
    return [
        RecordedScheduleVersion(
            seq=header.seq,
            recorded_at=header.recorded_at,
            retroactive=header.retroactive,
            version=ScheduleVersion(
                effective_from=header.effective_from,
                rules={action: Rule(**rule) for action, rule in rules[header.seq].items()},
                levels=LevelCurve(**json.loads(header.levels)) if header.levels else None,
                author=header.author,
                reason=header.reason,
                link=header.link,
            ),
        )
        for header in headers
    ]
