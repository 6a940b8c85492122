"""Posting planned score events to a forum exactly once.

Every event carries a marker naming its plan key (`[scoreledger:<key>]`) in its description.
Before each POST the journal records the intent; after it, the id Discourse returned. A run
that died between the two left an intent without a posting: the next run looks the event up
on the forum by its marker (GET score_events?user_id=&date=) and posts it only if it is not
there. A POST whose answer is lost is resolved the same way, at once. So every planned event
reaches the forum once, however often the push is interrupted and run again.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol, cast

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.text import Text

from ledger.discourse.http import (
    SCORE_EVENTS_PAGE,
    DiscourseClient,
    DiscourseError,
    OutcomeUnknown,
    PermanentFailure,
    ScoreEvent,
)

MARKER_PATTERN = re.compile(r"\[scoreledger:([^\[\]\s]+)\]")
_KEY = re.compile(r"^[^\[\]\s]+$")


def marker(key: str) -> str:
    """The text that identifies an event as scoreledger's, for plan key `key`."""
    return f"[scoreledger:{key}]"


def key_in(description: str | None) -> str | None:
    """The plan key of the marker in a score event's description, or None when it is not ours."""
    if not description:
        return None
    found = MARKER_PATTERN.search(description)
    return found.group(1) if found else None


@dataclass(frozen=True)
class PlannedEvent:
    """A score event to post: `key` identifies it for ever (in the journal and in its marker)."""

    key: str
    user_id: int
    on: date
    points: int
    reason: str

    def __post_init__(self) -> None:
        if not _KEY.match(self.key):
            raise ValueError(f"a plan key has no spaces or brackets: {self.key!r}")
        if isinstance(self.user_id, bool) or not isinstance(self.user_id, int):
            raise ValueError(f"user_id must be an integer: {self.user_id!r}")
        if isinstance(self.points, bool) or not isinstance(self.points, int):
            raise ValueError(f"points must be an integer: {self.points!r}")
        if not isinstance(self.on, date) or isinstance(self.on, datetime):
            raise ValueError(f"on must be a date: {self.on!r}")

    def description(self, link: str | None = None) -> str:
        """The event's description on the forum: the reason, the link, and our marker."""
        parts = [self.reason.strip()] if self.reason.strip() else []
        if link:
            parts.append(link)
        parts.append(marker(self.key))
        return " ".join(parts)


class CompensationJournal(Protocol):
    """Where a push records what it is about to post and what it posted. Each record must be
    durable when the method returns: the push relies on it after a crash."""

    def posted(self) -> Mapping[str, int]:
        """Plan key -> Discourse event id, for every event recorded as posted."""
        ...

    def outstanding(self) -> list[PlannedEvent]:
        """Events whose intent is recorded but whose posting is not."""
        ...

    def record_intent(self, event: PlannedEvent) -> None:
        """Record that `event` is about to be posted."""
        ...

    def record_posted(self, event: PlannedEvent, discourse_id: int) -> None:
        """Record that `event` is on the forum as event `discourse_id`."""
        ...


class MemoryJournal:
    """A CompensationJournal in memory (for tests and dry runs)."""

    def __init__(self) -> None:
        self.intents: dict[str, PlannedEvent] = {}
        self.posted_ids: dict[str, int] = {}

    def posted(self) -> Mapping[str, int]:
        return dict(self.posted_ids)

    def outstanding(self) -> list[PlannedEvent]:
        return [event for key, event in self.intents.items() if key not in self.posted_ids]

    def record_intent(self, event: PlannedEvent) -> None:
        self.intents[event.key] = event

    def record_posted(self, event: PlannedEvent, discourse_id: int) -> None:
        self.intents.setdefault(event.key, event)
        self.posted_ids[event.key] = discourse_id


@dataclass
class PushReport:
    """What a push did. `posted` are events posted by this run; `recovered` events an earlier
    run had posted without recording it, found on the forum by their marker; `stale` intents
    no longer planned and not on the forum (nothing was posted for them)."""

    planned: int = 0
    already_posted: int = 0
    posted: list[tuple[str, int]] = field(default_factory=list)
    recovered: list[tuple[str, int]] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, list[int]]] = field(default_factory=list)
    would_post: int = 0
    elapsed: float = 0.0

    @property
    def remaining(self) -> int:
        return self.planned - self.already_posted - len(self.posted) - len(self.recovered)


class PushFailed(DiscourseError):
    """The push stopped on a failure; `report` holds what was posted (and recorded) before it."""

    def __init__(self, message: str, report: PushReport) -> None:
        self.report = report
        super().__init__(message)


class LookupInconclusive(PermanentFailure):
    """The forum answered a full page (100) of events for a user and day without our marker:
    the lookup cannot tell whether the event is there, so nothing is posted."""


def find_posted(client: DiscourseClient, event: PlannedEvent) -> list[ScoreEvent]:
    """The forum's events carrying `event`'s marker (for its user and day), lowest id first."""
    candidates = client.score_events(user_id=event.user_id, on=event.on)
    ours = sorted((found for found in candidates if key_in(found.description) == event.key), key=lambda found: found.id)
    if not ours and len(candidates) >= SCORE_EVENTS_PAGE:
        raise LookupInconclusive(
            f"user {event.user_id} has {len(candidates)}+ score events on {event.on}: the forum shows only "
            f"{SCORE_EVENTS_PAGE}, so whether {event.key} was posted cannot be checked through the API"
        )
    return ours


class BatchingJournal(CompensationJournal, Protocol):
    """A journal that can record several intents, or several postings, in one write: the push
    then records the intents of up to `batch` events before posting them, and their postings
    after. A crash in between leaves intents without postings, which the next run looks up
    by marker as always; only the cost of a crash grows (a lookup per pending event)."""

    def record_intents(self, events: Sequence[PlannedEvent]) -> None:
        """Record that each of `events` is about to be posted."""
        ...

    def record_posted_many(self, postings: Sequence[tuple[PlannedEvent, int]]) -> None:
        """Record each (event, Discourse event id) as posted."""
        ...


def push(
    events: Iterable[PlannedEvent],
    journal: CompensationJournal,
    client: DiscourseClient,
    *,
    link: str | None = None,
    dry_run: bool = False,
    progress: bool | Console = False,
    max_unknown_outcomes: int = 5,
    batch: int = 25,
) -> PushReport:
    """Post every planned event not yet posted, exactly once, and return what was done.

    Stays under the client's rate, which honours 429 and retries transient failures. On a
    permanent failure (or transient ones outlasting the retries) it raises PushFailed, whose
    report lists everything posted so far: all of it is already in the journal. Running it
    again posts only what is still missing; with `dry_run` it only counts. A journal with
    `record_intents` and `record_posted_many` (BatchingJournal) is written once per `batch`
    events; any other, once per intent and once per posting.
    """
    started = time.monotonic()
    planned = _unique(events)
    report = PushReport(planned=len(planned))
    posted = journal.posted()
    intents = {event.key: event for event in journal.outstanding()}
    todo = [event for event in planned if event.key not in posted]
    report.already_posted = len(planned) - len(todo)
    if dry_run:
        report.would_post = len(todo)
        report.elapsed = time.monotonic() - started
        return report
    batching = hasattr(journal, "record_intents") and hasattr(journal, "record_posted_many")
    size = max(1, batch) if batching else 1
    planned_keys = {event.key for event in planned}
    pending: list[tuple[PlannedEvent, int]] = []
    bar = _progress_bar(progress)
    try:
        if bar is not None:
            bar.start()
        task = bar.add_task("posting", total=len(todo)) if bar is not None else None
        for key, intent in intents.items():
            if key not in planned_keys and key not in posted:
                _settle_stale(client, journal, intent, report)
        for first in range(0, len(todo), size):
            fresh = []
            for event in todo[first : first + size]:
                found = find_posted(client, intents[event.key]) if event.key in intents else []
                if found:
                    _record_found(journal, intents[event.key], found, report)
                    if bar is not None and task is not None:
                        bar.advance(task)
                else:
                    fresh.append(event)
            if not fresh:
                continue
            if batching:
                cast(BatchingJournal, journal).record_intents(fresh)
            for event in fresh:
                if not batching:
                    journal.record_intent(event)
                discourse_id, found = _post_once(client, event, link, max_unknown_outcomes)
                pending.append((event, discourse_id))
                report.posted.append((event.key, discourse_id))
                if len(found) > 1:
                    report.duplicates.append((event.key, [item.id for item in found]))
                if not batching:
                    _flush(journal, pending)
                if bar is not None and task is not None:
                    bar.advance(task)
            _flush(journal, pending)
    except DiscourseError as exc:
        _flush(journal, pending)
        report.elapsed = time.monotonic() - started
        raise PushFailed(f"push stopped after {len(report.posted)} posted: {exc}", report) from exc
    finally:
        if bar is not None:
            bar.stop()
    report.elapsed = time.monotonic() - started
    return report


def _flush(journal: CompensationJournal, pending: list[tuple[PlannedEvent, int]]) -> None:
    if not pending:
        return
    if hasattr(journal, "record_posted_many"):
        journal.record_posted_many(list(pending))
    else:
        for event, discourse_id in pending:
            journal.record_posted(event, discourse_id)
    pending.clear()


def _post_once(client: DiscourseClient, event: PlannedEvent, link: str | None, attempts: int) -> tuple[int, list[ScoreEvent]]:
    """The id of `event` on the forum after posting it once, and what a lookup found (empty
    unless an answer was lost)."""
    for attempt in range(1, attempts + 1):
        try:
            created = client.create_score_event(event.user_id, event.on, event.points, event.description(link))
        except OutcomeUnknown:
            # The POST may have been stored: give a request still under way there time to
            # finish, then look before posting again.
            client.retried += 1
            client.sleep(client.retry.delay(attempt))
            found = find_posted(client, event)
            if found:
                return found[0].id, found
            if attempt == attempts:
                raise
            continue
        return created.id, []
    raise AssertionError("unreachable: the last attempt returns or raises")


def _record_found(
    journal: CompensationJournal, event: PlannedEvent, found: list[ScoreEvent], report: PushReport, *, recovered: bool = True
) -> None:
    journal.record_posted(event, found[0].id)
    (report.recovered if recovered else report.posted).append((event.key, found[0].id))
    if len(found) > 1:
        report.duplicates.append((event.key, [item.id for item in found]))


def _settle_stale(client: DiscourseClient, journal: CompensationJournal, intent: PlannedEvent, report: PushReport) -> None:
    found = find_posted(client, intent)
    if found:
        _record_found(journal, intent, found, report)
    else:
        report.stale.append(intent.key)


def _unique(events: Iterable[PlannedEvent]) -> list[PlannedEvent]:
    planned: list[PlannedEvent] = []
    seen: dict[str, PlannedEvent] = {}
    for event in events:
        if event.key in seen:
            if seen[event.key] != event:
                raise PermanentFailure(f"the plan holds two different events under key {event.key}")
            continue
        seen[event.key] = event
        planned.append(event)
    return planned


class FinishTimeColumn(ProgressColumn):
    """The expected local clock time at which the task ends."""

    def render(self, task: Task) -> Text:
        remaining = task.time_remaining
        if remaining is None:
            return Text("finish --:--", style="progress.remaining")
        finish = datetime.now() + timedelta(seconds=remaining)
        return Text(f"finish ~{finish:%H:%M:%S}", style="progress.remaining")


def _progress_bar(progress: bool | Console) -> Progress | None:
    if progress is False:
        return None
    console = progress if isinstance(progress, Console) else Console(stderr=True)
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        FinishTimeColumn(),
        console=console,
        transient=False,
    )


def summary(report: PushReport) -> Sequence[str]:
    """One line per fact of a report, for a command to print."""
    lines = [f"planned {report.planned}, already posted {report.already_posted}, posted now {len(report.posted)}"]
    if report.would_post:
        lines.append(f"would post {report.would_post} (dry run)")
    if report.recovered:
        lines.append(f"found on the forum after an interrupted run: {len(report.recovered)}")
    if report.stale:
        lines.append(f"intents no longer planned and not on the forum: {len(report.stale)}")
    if report.duplicates:
        lines.append(f"events found more than once on the forum: {len(report.duplicates)}")
    return lines
