"""The batch journal: gap-free sequence numbers and the hash chain over committed batches.

Every write of events is one batch, taken under the journal lock (see
`ledger.store.engine.write_transaction`). A batch's hash is SHA-256 over the previous batch's
hash, the batch's own header, and the canonical bytes of each of its events in `seq` order,
so changing, dropping, reordering or inserting any event breaks every later link.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select

from ledger.store.canonical import batch_header_bytes
from ledger.store.chain_key import batch_mac, chain_key
from ledger.store.tables import batches

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class JournalHead:
    batch_id: int
    last_seq: int
    recorded_at: datetime
    hash: str


def journal_head(conn: Connection) -> JournalHead | None:
    """The newest committed batch, or None for an empty journal."""
    row = conn.execute(
        select(batches.c.batch_id, batches.c.last_seq, batches.c.recorded_at, batches.c.hash).order_by(batches.c.batch_id.desc()).limit(1)
    ).first()
    if row is None:
        return None
    return JournalHead(row.batch_id, row.last_seq, row.recorded_at, row.hash or GENESIS_HASH)


@dataclass
class PendingBatch:
    """A batch being written: its id, its first sequence number, and a running hash."""

    ledger: str
    kind: str
    origin: str | None
    batch_id: int
    first_seq: int
    recorded_at: datetime
    prev_hash: str
    event_count: int = 0
    _digest: hashlib._Hash = field(default_factory=hashlib.sha256, repr=False)

    def next_seq(self) -> int:
        """Hand out the next sequence number in this batch."""
        seq = self.first_seq + self.event_count
        self.event_count += 1
        return seq

    def add_event_bytes(self, canonical: bytes) -> None:
        """Feed one event's canonical bytes to the batch hash, in seq order."""
        self._digest.update(canonical)

    def header_bytes(self) -> bytes:
        return batch_header_bytes(self.batch_id, self.ledger, self.kind, self.origin, self.recorded_at, self.first_seq, self.event_count)

    def final_hash(self) -> str:
        return chain_hash(self.prev_hash, self.header_bytes(), self._digest.digest())


def chain_hash(prev_hash: str, header: bytes, events_digest: bytes) -> str:
    """One link of the chain: SHA-256 over the previous batch's hash, this batch's header and
    the SHA-256 of its events' canonical bytes (in seq order). `verify` recomputes it."""
    outer = hashlib.sha256()
    outer.update(prev_hash.encode())
    outer.update(header)
    outer.update(events_digest)
    return outer.hexdigest()


def begin_batch(conn: Connection, ledger: str, kind: str, origin: str | None) -> PendingBatch:
    """Start a batch after the journal head. The caller must hold the journal lock."""
    head = journal_head(conn)
    now = datetime.now(UTC).replace(tzinfo=None)
    if head is None:
        return PendingBatch(ledger, kind, origin, 1, 1, now, GENESIS_HASH)
    # recorded_at never goes backwards along the journal, even if the clock does, so
    # "as known at T" is always a prefix of the journal.
    return PendingBatch(ledger, kind, origin, head.batch_id + 1, head.last_seq + 1, max(now, head.recorded_at), head.hash)


def commit_batch(conn: Connection, batch: PendingBatch) -> str:
    """Write the batch's journal row (after its events). Returns the batch hash."""
    digest = batch.final_hash()
    conn.execute(
        insert(batches).values(
            batch_id=batch.batch_id,
            ledger=batch.ledger,
            kind=batch.kind,
            recorded_at=batch.recorded_at,
            first_seq=batch.first_seq,
            last_seq=batch.first_seq + batch.event_count - 1,
            event_count=batch.event_count,
            origin=batch.origin,
            prev_hash=batch.prev_hash,
            hash=digest,
            mac=batch_mac(key, digest) if (key := chain_key()) else None,
        )
    )
    return digest
