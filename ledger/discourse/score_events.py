"""Discourse's own score events (gamification_score_events): points awarded to a user on a
day from outside the scorables, which the plugin adds at full value to every board.

They belong in the ledger as adjustments of kind `imported`, keyed `score-event:<id>` so a
second import recognises them. The events the ledger itself posted (their description carries
`[scoreledger:<key>]`) are its compensations, already recorded, and are not imported again.
An event whose points changed on the forum (or that was deleted there) gets a correction
adjustment `score-event:<id>:change:<n>` for the difference, so the keys of an event always
sum to its points on the forum.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from ledger.discourse.forum import Forum, pages
from ledger.discourse.queries import load
from ledger.domain import Adjustment

MARKER_PATTERN = re.compile(r"\[scoreledger:([^\[\]\s]+)\]")


@dataclass(frozen=True)
class ScoreEvent:
    """One row of gamification_score_events."""

    event_id: int
    user_id: int
    on: date
    points: int
    description: str | None

    @property
    def key(self) -> str:
        return f"score-event:{self.event_id}"

    @property
    def is_ledgers_own(self) -> bool:
        """Posted by the ledger (a compensation): its description carries the marker."""
        return bool(self.description and MARKER_PATTERN.search(self.description))

    def adjustment_fields(self) -> dict[str, Any]:
        """The event as the fields of a ledger adjustment of kind `imported`."""
        return {
            "key": self.key,
            "user_id": self.user_id,
            "points": self.points,
            "on": self.on,
            "reason": self.description or "Discourse score event",
            "kind": "imported",
            "reference": str(self.event_id),
        }


def read_score_events(forum: Forum) -> list[ScoreEvent]:
    """Every score event of the forum, in id order."""
    return [
        ScoreEvent(int(row["key"]), int(row["user_id"]), _day(row["date"]), int(row["points"]), row["description"])
        for page in pages(forum, load("score_events"))
        for row in page
    ]


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def score_event_adjustments(events: list[ScoreEvent], recorded: list[Adjustment], *, full: bool = True) -> list[Adjustment]:
    """The adjustments that bring the ledger's imported adjustments to `events`: each event
    not yet recorded, and a change adjustment for each event whose recorded keys no longer
    sum to its points (with `full`, also for a recorded event no longer on the forum)."""
    sums: dict[str, int] = defaultdict(int)
    changes: dict[str, int] = defaultdict(int)
    first: dict[str, Adjustment] = {}
    for adjustment in recorded:
        base = adjustment.key.split(":change:")[0]
        if not base.startswith("score-event:"):
            continue
        sums[base] += adjustment.points
        if base == adjustment.key:
            first[base] = adjustment
        else:
            changes[base] += 1
    wanted = []
    current = {event.key: event for event in events}
    for event in events:
        if event.key not in first:
            wanted.append(Adjustment(**event.adjustment_fields()))
        elif sums[event.key] != event.points:
            wanted.append(_change(first[event.key], changes[event.key] + 1, event.points - sums[event.key], event.on))
    if full:
        for key, adjustment in first.items():
            if key not in current and sums[key]:
                wanted.append(_change(adjustment, changes[key] + 1, -sums[key], adjustment.on))
    return wanted


def _change(original: Adjustment, number: int, points: int, on: date) -> Adjustment:
    # Booked on the event's own day, as the plugin counts the event at its current points there.
    return Adjustment(
        key=f"{original.key}:change:{number}",
        user_id=original.user_id,
        points=points,
        on=on,
        reason=f"points of Discourse score event {original.reference} changed on the forum",
        kind="imported",
        reference=original.reference,
    )
