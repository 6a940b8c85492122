"""A batching CompensationJournal in a file, one JSON line per record, written through to the operating
system before the method returns: what the SIGKILL trials use in place of the ledger-backed
journal (a killed process loses nothing the kernel already holds, so no fsync is needed)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from ledger.discourse.push import PlannedEvent


class FileJournal:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.intents: dict[str, PlannedEvent] = {}
        self.posted_ids: dict[str, int] = {}
        self.posted_twice: list[str] = []
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a kill was never acknowledged
                self._apply(record)

    def _apply(self, record: dict) -> None:
        event = PlannedEvent(record["key"], record["user_id"], date.fromisoformat(record["on"]), record["points"], record["reason"])
        if record["type"] == "intent":
            self.intents[event.key] = event
        else:
            if event.key in self.posted_ids:
                self.posted_twice.append(event.key)
            self.posted_ids[event.key] = record["id"]

    def _append(self, *records: dict) -> None:
        with self.path.open("a") as handle:
            handle.write("".join(json.dumps(record) + "\n" for record in records))
            handle.flush()
        for record in records:
            self._apply(record)

    @staticmethod
    def _fields(event: PlannedEvent) -> dict:
        return {"key": event.key, "user_id": event.user_id, "on": event.on.isoformat(), "points": event.points, "reason": event.reason}

    def posted(self) -> Mapping[str, int]:
        return dict(self.posted_ids)

    def outstanding(self) -> list[PlannedEvent]:
        return [event for key, event in self.intents.items() if key not in self.posted_ids]

    def record_intent(self, event: PlannedEvent) -> None:
        self._append({"type": "intent", **self._fields(event)})

    def record_posted(self, event: PlannedEvent, discourse_id: int) -> None:
        self._append({"type": "posted", "id": discourse_id, **self._fields(event)})

    def record_intents(self, events: list[PlannedEvent]) -> None:
        self._append(*({"type": "intent", **self._fields(event)} for event in events))

    def record_posted_many(self, postings: list[tuple[PlannedEvent, int]]) -> None:
        self._append(*({"type": "posted", "id": discourse_id, **self._fields(event)} for event, discourse_id in postings))
