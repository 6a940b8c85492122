"""The push's journal kept in the ledger: what scoreledger sent to a Discourse forum.

Before each score event is posted the ledger records its intent (a compensation intent);
after it, the compensation itself: an adjustment of kind `compensation` under the same key,
with the forum's event id as its reference. Both are hash-chained events, so the ledger is
the record of every point it sent, and a push cut short between the two finds the intent,
looks the event up on the forum by its marker, and never posts it twice
(ledger/discourse/push.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ledger import Ledger
from ledger.discourse.push import PlannedEvent
from ledger.domain import Adjustment
from ledger.store.corrections import CompensationIntent


class LedgerJournal:
    """A CompensationJournal (ledger/discourse/push.py) on a ledger's events."""

    def __init__(self, book: Ledger) -> None:
        self.book = book

    def posted(self) -> Mapping[str, int]:
        return {
            adjustment.key: int(adjustment.reference)
            for adjustment in self.book.adjustments(kind="compensation")
            if adjustment.reference is not None and adjustment.reference.isdigit()
        }

    def outstanding(self) -> list[PlannedEvent]:
        posted = self.posted()
        return [
            PlannedEvent(intent.key, intent.user_id, intent.on, intent.points, intent.reason)
            for key, intent in self.book.compensation_intents().items()
            if key not in posted
        ]

    def record_intent(self, event: PlannedEvent) -> None:
        self.record_intents([event])

    def record_intents(self, events: Sequence[PlannedEvent]) -> None:
        """One batch of intents, before a batch of posts (push.py's BatchingJournal)."""
        self.book.record_compensation_intents(
            [CompensationIntent(event.key, event.user_id, event.points, event.on, event.reason) for event in events]
        )

    def record_posted(self, event: PlannedEvent, discourse_id: int) -> None:
        self.record_posted_many([(event, discourse_id)])

    def record_posted_many(self, posted: Sequence[tuple[PlannedEvent, int]]) -> None:
        """One batch of compensations, each with the forum's id for it."""
        self.book.record_adjustments(
            [
                Adjustment(
                    key=event.key,
                    user_id=event.user_id,
                    points=event.points,
                    on=event.on,
                    reason=event.reason,
                    kind="compensation",
                    reference=str(discourse_id),
                )
                for event, discourse_id in posted
            ],
            origin="discourse push",
        )
