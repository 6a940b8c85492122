"""Verifying the journal from the database alone, and digests of its head.

`verify_journal` walks every batch in `batch_id` order and every event in `seq` order, and
recomputes what the writers computed: each event's canonical bytes from its stored columns
(ledger/store/canonical.py), each batch's hash from the previous batch's hash, its header and
its events (ledger/store/journal.py). It stops at the first place that does not agree and
raises `JournalBroken` naming it.

A digest is the head of the journal (batch id, last seq, hash, time) kept outside the
database. Verifying against an old digest also proves that the journal still contains that
head unchanged, so nothing up to it was altered, even by someone who recomputed every hash
after their change, and that the tail was not cut off before it.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, Table, select

from ledger.domain import LevelCurve, Rule, ScheduleVersion, canonical_json
from ledger.errors import InputProblem, InvalidInput, JournalBroken
from ledger.store.canonical import action_bytes, batch_header_bytes, schedule_version_bytes, table_event_bytes
from ledger.store.chain_key import chain_key, mac_matches
from ledger.store.journal import GENESIS_HASH, chain_hash
from ledger.store.ledger_zones import local_day
from ledger.store.schedules import key_matches_content
from ledger.store.tables import (
    EVENT_TABLES,
    actions,
    batches,
    ledger_numbers,
    metadata,
    schedule_rule_points,
    schedule_rules,
    schedule_versions,
    user_keys,
)
from ledger.user_keys import direct_number, is_direct
from ledger.verify_schema import schema_object_problem
from ledger.verify_storage import Finding, ledger_totals_problem, orphan_rules, stored_value_problem

# Rows fetched per round trip while streaming: keeps memory flat on large journals.
STREAM_ROWS = 10_000
DIGEST_FIELDS = ("batch_id", "last_seq", "hash", "recorded_at", "taken_at")
HASH_SPELLING = re.compile("[0-9a-f]{64}")


@dataclass(frozen=True)
class JournalDigest:
    """The head of the journal at one moment: keep it outside the database."""

    batch_id: int
    last_seq: int
    hash: str
    recorded_at: datetime | None
    taken_at: datetime

    def to_json(self) -> str:
        return (
            json.dumps(
                {
                    "batch_id": self.batch_id,
                    "last_seq": self.last_seq,
                    "hash": self.hash,
                    "recorded_at": _utc_text(self.recorded_at) if self.recorded_at else None,
                    "taken_at": _utc_text(self.taken_at),
                },
                indent=2,
            )
            + "\n"
        )

    @classmethod
    def from_json(cls, text: str, source: str) -> JournalDigest:
        """Read a digest written by `to_json`; InvalidInput names what is wrong with it."""

        def refuse(reason: str) -> InvalidInput:
            return InvalidInput([InputProblem(source, None, None, reason)], what="digest", writes=False)

        try:
            fields = json.loads(text)
        except ValueError as exc:
            raise refuse(f"not a digest (invalid JSON: {exc})") from None
        if not isinstance(fields, dict) or any(name not in fields for name in DIGEST_FIELDS):
            raise refuse(f"not a digest: expected the keys {', '.join(DIGEST_FIELDS)}")
        try:
            batch_id, last_seq, digest_hash = fields["batch_id"], fields["last_seq"], fields["hash"]
            if not (isinstance(batch_id, int) and isinstance(last_seq, int) and isinstance(digest_hash, str)):
                raise ValueError("batch_id and last_seq must be integers, hash a string")
            if isinstance(batch_id, bool) or batch_id < 1 or last_seq < batch_id:
                # A digest of no batch would be "found" in every journal: it proves nothing.
                raise ValueError(f"it names no batch (batch_id {batch_id}, last_seq {last_seq})")
            if not HASH_SPELLING.fullmatch(digest_hash):
                raise ValueError("hash must be 64 lowercase hexadecimal digits")
            recorded_at = _utc_moment(fields["recorded_at"]) if fields["recorded_at"] else None
            return cls(batch_id, last_seq, digest_hash, recorded_at, _utc_moment(fields["taken_at"]))
        except (TypeError, ValueError) as exc:
            raise refuse(f"not a digest: {exc}") from None


def _utc_text(moment: datetime) -> str:
    """ISO 8601 with `Z`: the journal's naive times are UTC, and a digest kept elsewhere says so."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat() + "Z"


def _utc_moment(text: str) -> datetime:
    """A digest's time as the journal's naive UTC; digests written before the `Z` have none."""
    moment = datetime.fromisoformat(text)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment


@dataclass(frozen=True)
class JournalBreak:
    """The first place where the stored journal disagrees with itself (or with a digest)."""

    what: str
    detail: str
    batch_id: int | None = None
    seq: int | None = None

    def __str__(self) -> str:
        where = []
        if self.batch_id is not None:
            where.append(f"batch {self.batch_id}")
        if self.seq is not None:
            where.append(f"seq {self.seq}")
        return f"{', '.join(where) or 'journal'}: {self.what}: {self.detail}"


@dataclass(frozen=True)
class Verification:
    """What a successful verification covered."""

    batches: int
    events: int
    head: JournalDigest
    digest: JournalDigest | None
    # With SCORELEDGER_CHAIN_KEY set: how many batches carry a MAC valid under it.
    keyed_batches: int = 0
    # Without it: how many batches carry a MAC that could not be checked.
    unchecked_macs: int = 0


@dataclass(frozen=True)
class StoredEvent:
    """One event as read back: where it claims to belong, and its recomputed canonical bytes.

    `problem` is set when a stored column disagrees with what the others imply (a derived
    column, a version's key, a rule's points table) so cannot be caught by the hash alone.
    """

    seq: int
    table: str
    batch_id: int
    ledger: str
    recorded_at: datetime
    canonical: bytes
    problem: str | None = None


def verify_journal(conn: Connection, digest: JournalDigest | None = None) -> Verification:
    """Recompute every link of the chain and every event's bytes; raise JournalBroken at the
    first place that differs. With `digest`, also prove the journal still holds its head."""
    _raise_if_found("stored value", stored_value_problem(conn))
    walk = _Walk(_events_in_seq_order(conn), digest)
    batch_rows = conn.execute(select(batches).order_by(batches.c.batch_id).execution_options(yield_per=STREAM_ROWS))
    for row in batch_rows:
        walk.batch(row)
    walk.finish()
    _raise_if_found("stray rows", orphan_rules(conn))
    _raise_if_found("ledger totals", ledger_totals_problem(conn))
    return Verification(walk.batch_count, walk.event_count, walk.head(), digest, walk.keyed_batches, walk.unchecked_macs)


class _Walk:
    """The state of one pass along the journal; each check raises JournalBroken."""

    def __init__(self, events: Iterator[StoredEvent], digest: JournalDigest | None) -> None:
        self.events = events
        self.pending: StoredEvent | None = next(events, None)
        self.digest = digest
        self.batch_count = 0
        self.event_count = 0
        self.prev_hash = GENESIS_HASH
        self.next_seq = 1
        self.last: Any = None
        self.key = chain_key()
        self.keyed_batches = 0
        self.unchecked_macs = 0

    def batch(self, row: Any) -> None:
        expected_id = self.batch_count + 1
        if row.batch_id != expected_id:
            self._broken("missing batch", f"batch {expected_id} is absent; the next batch found is {row.batch_id}", batch_id=expected_id)
        if row.prev_hash != self.prev_hash:
            self._broken(
                "prev_hash mismatch",
                f"prev_hash is {row.prev_hash}, but batch {row.batch_id - 1} hashes to {self.prev_hash}",
                batch_id=row.batch_id,
            )
        if row.first_seq != self.next_seq:
            self._broken(
                "gap in seq", f"starts at seq {row.first_seq}, the previous batch ended at seq {self.next_seq - 1}", batch_id=row.batch_id
            )
        if row.event_count != row.last_seq - row.first_seq + 1:
            self._broken(
                "count mismatch", f"event_count {row.event_count} does not match seq {row.first_seq}..{row.last_seq}", batch_id=row.batch_id
            )
        if self.last is not None and row.recorded_at < self.last.recorded_at:
            self._broken(
                "time goes backwards",
                f"recorded_at {row.recorded_at} is before batch {self.last.batch_id}'s {self.last.recorded_at}",
                batch_id=row.batch_id,
            )
        events_digest = hashlib.sha256()
        for seq in range(row.first_seq, row.last_seq + 1):
            events_digest.update(self._event(row, seq).canonical)
        header = batch_header_bytes(row.batch_id, row.ledger, row.kind, row.origin, row.recorded_at, row.first_seq, row.event_count)
        recomputed = chain_hash(self.prev_hash, header, events_digest.digest())
        if row.hash != recomputed:
            self._broken(
                "hash mismatch",
                f"stored hash {row.hash} but its header and events "
                f"(seq {row.first_seq}..{row.last_seq}) hash to {recomputed}: an event or "
                "the batch row was changed",
                batch_id=row.batch_id,
            )
        self._check_mac(row)
        self._check_digest(row)
        self.batch_count += 1
        self.event_count += row.event_count
        self.prev_hash = row.hash
        self.next_seq = row.last_seq + 1
        self.last = row

    def _event(self, batch: Any, seq: int) -> StoredEvent:
        """The event at `seq`, which must exist, be single, and belong to `batch`."""
        event = self.pending
        if event is None or event.seq > seq:
            self._broken(
                "missing event",
                f"no event has seq {seq} (batch {batch.batch_id} covers {batch.first_seq}..{batch.last_seq})",
                batch_id=batch.batch_id,
                seq=seq,
            )
        assert event is not None
        self.pending = next(self.events, None)
        if self.pending is not None and self.pending.seq == seq:
            self._broken(
                "duplicate seq", f"seq {seq} is held by both {event.table} and {self.pending.table}", batch_id=batch.batch_id, seq=seq
            )
        if (event.batch_id, event.ledger, event.recorded_at) != (batch.batch_id, batch.ledger, batch.recorded_at):
            self._outside_batch(event, batch, seq)
        if event.problem:
            self._broken("inconsistent event", f"{event.table} row: {event.problem}", batch_id=batch.batch_id, seq=seq)
        return event

    def _outside_batch(self, event: StoredEvent, batch: Any, seq: int) -> None:
        claims = [
            (name, stored, wanted)
            for name, stored, wanted in (
                ("batch_id", event.batch_id, batch.batch_id),
                ("ledger", event.ledger, batch.ledger),
                ("recorded_at", event.recorded_at, batch.recorded_at),
            )
            if stored != wanted
        ]
        shown = "; ".join(f"{name} {stored} but its batch says {wanted}" for name, stored, wanted in claims)
        self._broken("event outside its batch", f"{event.table} row: {shown}", batch_id=batch.batch_id, seq=seq)

    def _check_mac(self, row: Any) -> None:
        """With the chain key: a stored MAC must match, and once one batch carries a MAC
        every later one must (ledger/store/chain_key.py)."""
        if self.key is None:
            self.unchecked_macs += row.mac is not None
            return
        if row.mac is None:
            if self.keyed_batches:
                self._broken(
                    "unkeyed batch",
                    "it carries no MAC but earlier batches do: it was written without the chain key, or its MAC was removed",
                    batch_id=row.batch_id,
                )
            return
        if not mac_matches(self.key, row.hash, row.mac):
            self._broken(
                "MAC mismatch",
                "its MAC is not the chain key's MAC of its hash: the journal up to it was "
                "rewritten by someone without the key (or the key is not the one it was written with)",
                batch_id=row.batch_id,
            )
        self.keyed_batches += 1

    def _check_digest(self, row: Any) -> None:
        digest = self.digest
        if digest is None or row.batch_id != digest.batch_id:
            return
        if (row.hash, row.last_seq) != (digest.hash, digest.last_seq):
            self._broken(
                "differs from digest",
                f"the digest taken {digest.taken_at:%Y-%m-%d %H:%M:%S} UTC says "
                f"seq ..{digest.last_seq} hash {digest.hash}, the journal now has seq "
                f"..{row.last_seq} hash {row.hash}: history up to the digest was rewritten",
                batch_id=row.batch_id,
            )

    def finish(self) -> None:
        if self.pending is not None:
            event = self.pending
            self._broken(
                "event without batch",
                f"{event.table} row claims batch {event.batch_id}, but the journal ends at seq {self.next_seq - 1}",
                batch_id=None,
                seq=event.seq,
            )
        digest = self.digest
        if digest is not None and digest.batch_id > self.batch_count:
            self._broken(
                "truncated",
                f"the journal ends at batch {self.batch_count} (seq {self.next_seq - 1}) "
                f"but the digest taken {digest.taken_at:%Y-%m-%d %H:%M:%S} UTC names batch "
                f"{digest.batch_id} (seq {digest.last_seq}): the tail was removed",
            )
        if self.key is not None and self.last is not None and self.last.mac is None:
            self._broken(
                "unkeyed head",
                f"the newest batch ({self.last.batch_id}) carries no MAC, so nothing "
                "vouches for the journal under the chain key: it was written without the key, or the MACs were "
                "removed",
                batch_id=self.last.batch_id,
            )

    def head(self) -> JournalDigest:
        now = datetime.now(UTC).replace(tzinfo=None)
        if self.last is None:
            return JournalDigest(0, 0, GENESIS_HASH, None, now)
        return JournalDigest(self.last.batch_id, self.last.last_seq, self.last.hash, self.last.recorded_at, now)

    @staticmethod
    def _broken(what: str, detail: str, *, batch_id: int | None = None, seq: int | None = None) -> None:
        raise JournalBroken(JournalBreak(what, detail, batch_id, seq))


# -- reading events back ----------------------------------------------------------------------


def _events_in_seq_order(conn: Connection) -> Iterator[StoredEvent]:
    """Every event of every event table, merged by seq."""
    streams: list[Iterable[StoredEvent]] = [_actions(conn), _schedule_versions(conn), _user_keys(conn)]
    for name in EVENT_TABLES:
        table = metadata.tables[name]
        # Tables with their own reading here; child rows without seq are hashed with their parent.
        if table in (actions, schedule_versions, user_keys) or "seq" not in table.columns:
            continue
        streams.append(_generic(conn, table))
    return heapq.merge(*streams, key=lambda event: event.seq)


def _stream(conn: Connection, table: Table) -> Iterator[Any]:
    return iter(conn.execute(select(table).order_by(table.c.seq).execution_options(yield_per=STREAM_ROWS)))


def _actions(conn: Connection) -> Iterator[StoredEvent]:
    columns = (
        actions.c.seq,
        actions.c.batch_id,
        actions.c.ledger,
        actions.c.source_key,
        actions.c.user_id,
        actions.c.action,
        actions.c.occurred_at,
        actions.c.day,
        actions.c.quantity,
        actions.c.attributes,
        actions.c.recorded_at,
        actions.c.ledger_id,
    )
    numbers: dict[str, int] = dict(conn.execute(select(ledger_numbers.c.ledger, ledger_numbers.c.number)).all())
    zones = {ledger: ZoneInfo(name) for ledger, name in conn.execute(select(ledger_numbers.c.ledger, ledger_numbers.c.timezone)) if name}
    query = select(*columns).order_by(actions.c.seq).execution_options(yield_per=STREAM_ROWS)
    # Unpacked by position: this loop runs once per action, and attribute access by name costs.
    for seq, batch_id, ledger, key, user_id, action, occurred_at, day, quantity, attributes, recorded_at, ledger_id in conn.execute(query):
        canonical = action_bytes(seq, ledger, key, user_id, action, occurred_at, quantity, attributes)
        problem = None
        # `day` and `ledger_id` are not hashed (they are derived); replay selects by them, so
        # they must agree with what is.
        if day != occurred_at.date() if ledger not in zones else day != local_day(occurred_at, zones[ledger]):
            problem = f"day {day} is not the day of occurred_at {occurred_at} (UTC) in {zones.get(ledger, 'UTC')}"
        elif ledger_id != numbers.get(ledger):
            problem = f"ledger_id {ledger_id} is not the number of ledger {ledger!r} ({numbers.get(ledger)})"
        yield StoredEvent(seq, "actions", batch_id, ledger, recorded_at, canonical, problem)


def _generic(conn: Connection, table: Table) -> Iterator[StoredEvent]:
    for row in _stream(conn, table):
        values = row._mapping
        yield StoredEvent(row.seq, table.name, row.batch_id, row.ledger, row.recorded_at, table_event_bytes(table, values))


def _user_keys(conn: Connection) -> Iterator[StoredEvent]:
    """Rows of `user_keys`, hashed as any event table's; a row the writers never write (a
    direct integer key, or a number in the direct range, ledger/user_keys.py) is inconsistent:
    with it, a key would name two users."""
    for row in _stream(conn, user_keys):
        problem = None
        if direct_number(row.user_key) is not None:
            problem = f"user_key {row.user_key!r} is an integer key, which is its own number and is never mapped"
        elif is_direct(row.user_number):
            problem = f"user_number {row.user_number} is a direct integer key's number, not one handed out to a key"
        yield StoredEvent(
            row.seq, user_keys.name, row.batch_id, row.ledger, row.recorded_at, table_event_bytes(user_keys, row._mapping), problem
        )


def _schedule_versions(conn: Connection) -> Iterator[StoredEvent]:
    """Schedule versions with their rules and points tables, rebuilt into the document that
    was hashed when they were recorded."""
    rules: dict[int, list[Any]] = {}
    for row in conn.execute(select(schedule_rules)):
        rules.setdefault(row.version_seq, []).append(row)
    points: dict[tuple[int, str], dict[str, int]] = {}
    for row in conn.execute(select(schedule_rule_points)):
        points.setdefault((row.version_seq, row.action), {})[row.attribute_value] = row.points
    for row in _stream(conn, schedule_versions):
        document, problem = _version_document(row, rules.get(row.seq, []), points)
        canonical = schedule_version_bytes(row.seq, row.ledger, row.retroactive, document)
        yield StoredEvent(row.seq, "schedule_versions", row.batch_id, row.ledger, row.recorded_at, canonical, problem)


def _version_document(row: Any, rule_rows: list[Any], points: dict[tuple[int, str], dict[str, int]]) -> tuple[str, str | None]:
    """The version's canonical JSON, and what is wrong with its stored pieces if anything."""
    rules: dict[str, Rule] = {}
    try:
        for rule in rule_rows:
            table = points.get((row.seq, rule.action))
            if table and rule.by_attribute is None:
                return "", f"rule {rule.action!r} has a points table but no `by` attribute"
            by = {rule.by_attribute: table or {}} if rule.by_attribute is not None else None
            rules[rule.action] = Rule(value=rule.value, per=rule.per, min_quantity=rule.min_quantity, by=by)
        strays = sorted(action for seq, action in points if seq == row.seq and action not in rules)
        if strays:
            return "", f"points tables for {', '.join(strays)} without a rule"
        version = ScheduleVersion(
            effective_from=row.effective_from,
            rules=rules,
            levels=LevelCurve(**json.loads(row.levels)) if row.levels else None,
            enabled=bool(row.enabled),
            start_date=row.start_date,
            author=row.author,
            reason=row.reason,
            link=row.link,
        )
    except (ValidationError, ValueError, TypeError) as exc:
        return "", f"its stored rules do not form a valid version ({str(exc).splitlines()[0]})"
    problem = None
    if not key_matches_content(row.version_key, version):
        problem = f"version_key {row.version_key} does not match its content ({version.content_key()})"
    return canonical_json(version.to_document()), problem


def check_schema_objects(engine: Engine) -> None:
    """Raise JournalBroken if the views, triggers, functions, rules, policies or table columns
    that pricing and reads depend on differ from what the migrations create."""
    problem = schema_object_problem(engine)
    if problem is not None:
        raise JournalBroken(JournalBreak("schema objects changed", problem))


def _raise_if_found(what: str, finding: Finding | None) -> None:
    if finding is not None:
        detail, batch_id, seq = finding
        raise JournalBroken(JournalBreak(what, detail, batch_id, seq))
