"""Writing and reading schedule versions (with their rules) as events."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, func, insert, select

from ledger.domain import LevelCurve, RecordedScheduleVersion, Rule, ScheduleVersion, canonical_json
from ledger.errors import StoreError
from ledger.store.canonical import schedule_version_bytes
from ledger.store.journal import PendingBatch
from ledger.store.tables import batches, schedule_rule_points, schedule_rules, schedule_versions

# A version's key is its content digest; the n-th later version with the same content (a
# revert to earlier values) keeps the digest's first 56 hex digits and numbers itself in the
# last 8, so every key stays unique and still shows which content it belongs to.
KEY_PREFIX = 56


def version_key(version: ScheduleVersion, occurrence: int) -> str:
    """The stored key of the `occurrence`-th version (0: the first) with this content."""
    digest = version.content_key()
    return digest if occurrence == 0 else f"{digest[:KEY_PREFIX]}{occurrence:08x}"


def key_matches_content(key: str, version: ScheduleVersion) -> bool:
    """Whether a stored `version_key` belongs to `version`'s content (see `version_key`)."""
    digest = version.content_key()
    if key == digest:
        return True
    tail = key[KEY_PREFIX:]
    return key[:KEY_PREFIX] == digest[:KEY_PREFIX] and len(tail) == 8 and all(c in "0123456789abcdef" for c in tail) and int(tail, 16) > 0


def document_origin(origin: str | None, digest: str) -> str:
    """A batch origin that names the document it recorded, so a re-run can be recognised."""
    return f"{origin or 'schedule'} (document sha256:{digest})"


def document_recorded(conn: Connection, ledger: str, digest: str) -> bool:
    """Whether a schedule batch of `ledger` recorded the document with this digest."""
    found = conn.execute(
        select(batches.c.batch_id)
        .where(
            batches.c.ledger == ledger,
            batches.c.kind == "schedule",
            batches.c.origin.like(f"%(document sha256:{digest})"),
        )
        .limit(1)
    ).first()
    return found is not None


def _occurrences(conn: Connection, ledger: str, version: ScheduleVersion) -> int:
    """How many versions of `ledger` with this content are stored already."""
    prefix = version.content_key()[:KEY_PREFIX]
    return conn.execute(
        select(func.count())
        .select_from(schedule_versions)
        .where(schedule_versions.c.ledger == ledger, schedule_versions.c.version_key.like(f"{prefix}%"))
    ).scalar_one()


def write_version(conn: Connection, batch: PendingBatch, ledger: str, version: ScheduleVersion, *, retroactive: bool) -> int:
    """Append one version and its rules to `batch`. Returns the version's sequence number."""
    seq = batch.next_seq()
    levels = canonical_json(version.levels.to_document()) if version.levels else None
    conn.execute(
        insert(schedule_versions).values(
            seq=seq,
            batch_id=batch.batch_id,
            ledger=ledger,
            version_key=version_key(version, _occurrences(conn, ledger, version)),
            effective_from=version.effective_from,
            levels=levels,
            enabled=version.enabled,
            start_date=version.start_date,
            author=version.author,
            reason=version.reason,
            link=version.link,
            retroactive=retroactive,
            recorded_at=batch.recorded_at,
        )
    )
    # The version's whole document is hashed: rules and points tables included.
    batch.add_event_bytes(schedule_version_bytes(seq, ledger, retroactive, canonical_json(version.to_document())))
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


def read_versions(conn: Connection, ledger: str, *, as_known_at: datetime | None = None) -> list[RecordedScheduleVersion]:
    """Every version of `ledger` (recorded by `as_known_at`, if given), by date then seq."""
    query = select(schedule_versions).where(schedule_versions.c.ledger == ledger)
    if as_known_at is not None:
        query = query.where(schedule_versions.c.recorded_at <= as_known_at)
    headers = conn.execute(query.order_by(schedule_versions.c.effective_from, schedule_versions.c.seq)).all()
    if not headers:
        return []
    seqs = [header.seq for header in headers]
    rules: dict[int, dict[str, dict]] = {seq: {} for seq in seqs}
    for row in conn.execute(select(schedule_rules).where(schedule_rules.c.version_seq.in_(seqs))):
        rules[row.version_seq][row.action] = {
            "value": row.value,
            "per": row.per,
            "min_quantity": row.min_quantity,
            "by": {row.by_attribute: {}} if row.by_attribute is not None else None,
        }
    for row in conn.execute(select(schedule_rule_points).where(schedule_rule_points.c.version_seq.in_(seqs))):
        table = rules[row.version_seq][row.action]["by"]
        next(iter(table.values()))[row.attribute_value] = row.points
    return [_recorded(header, rules[header.seq]) for header in headers]


def _recorded(header: Any, rules: dict[str, dict[str, Any]]) -> RecordedScheduleVersion:
    try:
        return RecordedScheduleVersion(
            seq=header.seq,
            recorded_at=header.recorded_at,
            retroactive=header.retroactive,
            version=ScheduleVersion(
                effective_from=header.effective_from,
                rules={action: Rule(**rule) for action, rule in rules.items()},
                levels=LevelCurve(**json.loads(header.levels)) if header.levels else None,
                enabled=bool(header.enabled),
                start_date=header.start_date,
                author=header.author,
                reason=header.reason,
                link=header.link,
            ),
        )
    except (ValidationError, ValueError, TypeError) as exc:
        # Recorded before today's checks, or altered since: say which, never a traceback.
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StoreError(
            f"schedule version seq {header.seq} (effective {header.effective_from}) is not a valid version "
            f"as stored ({first}); run `scoreledger verify`"
        ) from None
