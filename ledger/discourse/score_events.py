"""Discourse's own score events (gamification_score_events): points awarded to a user on a
day from outside the scorables, which the plugin adds at full value to every board.

They belong in the ledger as adjustments of kind `imported`, keyed `score-event:<id>` so a
second import recognises them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ledger.discourse.forum import Forum, pages
from ledger.discourse.queries import load


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
