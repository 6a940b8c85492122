"""Importing a forum's scoring rows into a ledger, measured as the gamification plugin
measures them: one action per scoring row, with a stable source key.

The forum is only read (see `ledger.discourse.forum`). What is already recorded under a key
with the same payload is skipped, so a run with nothing new writes nothing. A full run turns
what changed on the forum into the ledger's corrections: a row that stopped scoring is
retracted, one scoring again reinstated, a changed measure amended, a row now under the user
another was merged into makes a merge. Score events become adjustments of kind `imported`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, cast, func, select

from ledger import ledger_numbers
from ledger.api import Ledger
from ledger.discourse.forum import FIRST_KEY, Forum, as_datetime, pages
from ledger.discourse.queries import MAX_PAGE, load
from ledger.discourse.scorables import ACTION_NAMES, SCORABLES, ForumShape, action_rows, detect_shape, key_prefix, query_for
from ledger.discourse.score_events import ScoreEvent, read_score_events, score_event_adjustments
from ledger.domain import ActionState, Adjustment, Amendment, Correction, Reinstatement, Retraction
from ledger.store.actions import ActionRow, LocatedRow
from ledger.store.corrections import merge_targets, now_utc
from ledger.store.engine import read_transaction
from ledger.store.tables import actions

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class ForumUser:
    """A forum user as the ledger reports it; `off_board` lists why the plugin leaves them
    off its boards or out of its scores (empty: on the boards)."""

    user_id: int
    username: str
    name: str | None
    off_board: tuple[str, ...]


@dataclass(frozen=True)
class Changed:
    """A recorded key whose row now reads differently in a way no correction expresses (a
    solution re-dated under the same key, a row re-attributed to a user other than a merge
    target): which payload fields differ, and the row as the forum has it now. Reported, left."""

    source_key: str
    fields: tuple[str, ...]
    now: ActionRow


@dataclass
class ImportReport:
    """What an import found and did (or, in a dry run, would do), per action type."""

    shape: ForumShape
    found: Counter[str] = field(default_factory=Counter)
    added: Counter[str] = field(default_factory=Counter)
    retracted: Counter[str] = field(default_factory=Counter)
    reinstated: Counter[str] = field(default_factory=Counter)
    amended: Counter[str] = field(default_factory=Counter)
    # Keys found under the user their recorded user is now merged into, per action type.
    merged: Counter[str] = field(default_factory=Counter)
    changed: Counter[str] = field(default_factory=Counter)
    changes: list[Changed] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)
    merges: dict[int, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    users: dict[int, ForumUser] = field(default_factory=dict)
    score_events: list[ScoreEvent] = field(default_factory=list)
    # The ledger's own events (marked `[scoreledger:<key>]`), recognised and not imported.
    own_events: int = 0
    adjustments: list[Adjustment] = field(default_factory=list)
    dry_run: bool = False
    full: bool = False
    batch_id: int | None = None

    @property
    def retracted_keys(self) -> list[str]:
        return [item.source_key for item in self.corrections if isinstance(item, Retraction)]

    @property
    def off_board(self) -> list[ForumUser]:
        return [user for user in self.users.values() if user.off_board]


def read_users(forum: Forum, shape: ForumShape) -> dict[int, ForumUser]:
    """Usernames and names, and why each user is off the plugin's boards: staged,
    anonymized, an anonymous-posting shadow, a non-positive id (every generation's
    leaderboards), inactive or suspended (G2 and G3 drop their scores altogether)."""
    users = {}
    for page in pages(forum, load("users")):
        for row in page:
            reasons = [name for name in ("staged", "anonymized", "anonymous_shadow") if row[name]]
            if int(row["key"]) <= 0:
                reasons.append("system")
            if shape.excludes_ineligible and not row["active"]:
                reasons.append("inactive")
            if shape.excludes_ineligible and row["suspended"]:
                reasons.append("suspended")
            users[int(row["key"])] = ForumUser(int(row["key"]), row["username"], row["name"], tuple(reasons))
    return users


def extract(
    forum: Forum,
    shape: ForumShape,
    report: ImportReport,
    progress: Progress | None = None,
    page_size: int = MAX_PAGE,
    watermarks: dict[str, int] | None = None,
) -> list[ActionRow]:
    """The scoring rows of every scorable whose tables the forum has, as actions: those
    keyed above the scorable's watermark (its source-key prefix's highest recorded key), or
    all of them without watermarks."""
    rows: list[ActionRow] = []
    for scorable in SCORABLES:
        query = query_for(scorable, shape)
        if query is None:
            report.skipped[scorable.action] = f"table {', '.join(t for t in scorable.tables if t not in shape.tables)} absent"
            continue
        prefix = key_prefix(scorable, shape)
        after = (watermarks or {}).get(prefix, FIRST_KEY)
        for page in pages(forum, query, page_size=page_size, after=after):
            rows.extend(action_rows(scorable.action, prefix, page))
            report.found[scorable.action] += len(page)
            if progress:
                progress(scorable.action, len(page))
    return rows


def recorded(book: Ledger) -> dict[str, ActionRow]:
    """The ledger's recorded actions of the plugin's action types, by source key."""
    with read_transaction(book.engine) as conn:
        number = ledger_numbers.number_of(conn, book.name)
        if number == ledger_numbers.UNNUMBERED:
            return {}
        found = conn.execute(
            select(actions.c.source_key, actions.c.user_id, actions.c.action, actions.c.occurred_at, actions.c.quantity, actions.c.attributes)
            .where(actions.c.ledger_id == number, actions.c.action.in_(ACTION_NAMES))
        )
        return {row[0]: ActionRow(*row) for row in found}


def watermarks(book: Ledger, prefixes: list[str]) -> dict[str, int]:
    """Each source-key prefix's highest recorded key: where the next import resumes. They
    live in the ledger as the keys themselves, so nothing else needs keeping; each is read
    off the range of the (source_key, ledger) key that its prefix spans."""
    marks: dict[str, int] = {}
    with read_transaction(book.engine) as conn:
        number = ledger_numbers.number_of(conn, book.name)
        if number == ledger_numbers.UNNUMBERED:
            return marks
        for prefix in prefixes:
            # Keys `prefix:<n>` sort between `prefix:` and `prefix;` (the next character).
            highest = conn.execute(
                select(func.max(cast(func.substr(actions.c.source_key, len(prefix) + 2), BigInteger))).where(
                    actions.c.source_key >= f"{prefix}:", actions.c.source_key < f"{prefix};", actions.c.ledger_id == number
                )
            ).scalar()
            if highest is not None:
                marks[prefix] = int(highest)
    return marks


def import_forum(
    book: Ledger,
    forum: Forum,
    *,
    generation: str | None = None,
    full: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    page_size: int = MAX_PAGE,
    now: datetime | None = None,
) -> ImportReport:
    """Record `forum`'s new scoring rows in `book`, and with `full` correct what changed.

    By default each scorable is read from its watermark on (rows keyed above the highest
    key recorded for it), which finds every new row; the visits of the latest two recorded
    days are read again too, and amended where they grew. `full` reads every row again and
    reconciles each recorded key with it: a key no longer scoring is retracted, a retracted
    one scoring again reinstated, a changed quantity or attributes amended, a key now under
    another user (Discourse merged the accounts) makes a merge of the old user into the new.
    Corrections are booked at `now` (default: the time of the run). Score events become
    adjustments of kind `imported` on every run, except the ledger's own (marked)."""
    book.check_schema()
    moment = now or now_utc()
    shape = detect_shape(forum, generation)
    report = ImportReport(shape, dry_run=dry_run, full=full)
    report.users = read_users(forum, shape)
    # A full read reconciles every recorded key; from watermarks only re-read visits are known.
    known = book.action_states() if full else {}
    marks = None if full else watermarks(book, [key_prefix(scorable, shape) for scorable in SCORABLES])
    starts = None if marks is None else {**marks, **recent_visits(book, marks)}
    rows = extract(forum, shape, report, progress, page_size, starts)
    if marks:
        # Visits of the latest recorded days are read again: today's visit keeps growing.
        again = [row.source_key for row in rows if _number(row.source_key) <= marks.get(_prefix(row.source_key), FIRST_KEY)]
        known = book.action_states(again) if again else {}
    fresh: list[LocatedRow] = []
    targets = merge_targets_of(book) if full or known else {}
    for row in rows:
        before = known.get(row.source_key)
        if before is None:
            fresh.append(LocatedRow("discourse", None, row))
            report.added[row.action] += 1
        else:
            _reconcile(before, row, targets, moment, report)
    if full:
        seen = {row.source_key for row in rows}
        for key, state in known.items():
            if key not in seen and state.active and state.action in ACTION_NAMES and state.action not in report.skipped:
                report.corrections.append(Retraction(source_key=key, at=_at(moment, state), reason="no longer scores on the forum"))
                report.retracted[state.action] += 1
    if any(isinstance(item, (Retraction, Reinstatement)) for item in report.corrections):
        report.corrections = dated_by_the_forum(report.corrections, known, post_changes(forum, page_size))
    if "gamification_score_events" in shape.tables:
        report.score_events = read_score_events(forum)
        report.own_events = sum(1 for event in report.score_events if event.is_ledgers_own)
        report.adjustments = score_event_adjustments(
            [event for event in report.score_events if not event.is_ledgers_own], book.adjustments(kind="imported"), full=full
        )
    if dry_run:
        return report
    origin = f"discourse import ({shape.generation})"
    if fresh:
        report.batch_id = book.ingest_rows(fresh, origin=origin).batch_id
    for source, target in report.merges.items():
        book.merge_users(source, target, at=moment, reason="merged on the forum")
    if report.corrections:
        book.record_corrections(report.corrections, origin=origin)
    if report.adjustments:
        book.record_adjustments(report.adjustments, origin=origin)
    return report


def post_changes(forum: Forum, page_size: int = MAX_PAGE) -> dict[int, datetime]:
    """When each post (or its topic) last changed, as the forum tells it."""
    return {int(row["key"]): as_datetime(row["changed_at"]) for page in pages(forum, load("post_changes"), page_size=page_size) for row in page if row["changed_at"]}


def dated_by_the_forum(corrections: list[Correction], states: dict[str, ActionState], changed: dict[int, datetime]) -> list[Correction]:
    """Retractions and reinstatements of rows on a post booked when the forum says the post
    (or its topic) changed, not at the run's time; never before the action, nor before the
    key's last correction, nor after the run."""
    dated: list[Correction] = []
    for item in corrections:
        state = states[item.source_key]
        post = state.attributes.get("post_id")
        if isinstance(item, (Retraction, Reinstatement)) and post in changed:
            item = item.model_copy(update={"at": min(item.at, _at(changed[post], state))})
        dated.append(item)
    return dated


# Visit rows change after they are recorded (reading time and posts read grow all day).
VISIT_PREFIXES = ("visit", "visit-time", "visit-posts")


def recent_visits(book: Ledger, marks: dict[str, int]) -> dict[str, int]:
    """For each visit prefix, where to read from so the visits of its latest recorded day
    and the day before are read again: just below the lowest key among them."""
    starts: dict[str, int] = {}
    with read_transaction(book.engine) as conn:
        number = ledger_numbers.number_of(conn, book.name)
        for prefix in VISIT_PREFIXES:
            if prefix not in marks:
                continue
            within = (actions.c.source_key >= f"{prefix}:", actions.c.source_key < f"{prefix};", actions.c.ledger_id == number)
            latest = conn.execute(select(func.max(actions.c.occurred_at)).where(*within)).scalar()
            if latest is None:
                continue
            lowest = conn.execute(
                select(func.min(cast(func.substr(actions.c.source_key, len(prefix) + 2), BigInteger))).where(
                    *within, actions.c.occurred_at >= latest - timedelta(days=1)
                )
            ).scalar()
            if lowest is not None:
                starts[prefix] = int(lowest) - 1
    return starts


def _prefix(key: str) -> str:
    return key.rsplit(":", 1)[0]


def _number(key: str) -> int:
    return int(key.rsplit(":", 1)[1])


def merge_targets_of(book: Ledger) -> dict[int, int]:
    """Each user the ledger has merged, with the user they now count for."""
    with read_transaction(book.engine) as conn:
        number = ledger_numbers.number_of(conn, book.name)
        return {} if number == ledger_numbers.UNNUMBERED else merge_targets(conn, number)


def _reconcile(before: ActionState, row: ActionRow, targets: dict[int, int], moment: datetime, report: ImportReport) -> None:
    """The corrections that bring a recorded key to the forum's row."""
    if before.action != row.action or before.occurred_at != row.occurred_at:
        fields = tuple(name for name in ("action", "occurred_at") if getattr(before, name) != getattr(row, name))
        report.changed[row.action] += 1
        report.changes.append(Changed(row.source_key, fields, row))
        return
    counted_for = targets.get(before.user_id, before.user_id)
    if row.user_id != counted_for:
        if report.merges.get(counted_for, row.user_id) == row.user_id and targets.get(row.user_id, row.user_id) == row.user_id:
            report.merges[counted_for] = row.user_id
            report.merged[row.action] += 1
        else:
            report.changed[row.action] += 1
            report.changes.append(Changed(row.source_key, ("user_id",), row))
    at = _at(moment, before)
    if not before.active:
        report.corrections.append(Reinstatement(source_key=row.source_key, at=at, reason="scores again on the forum"))
        report.reinstated[row.action] += 1
    attributes = json.loads(row.attributes)
    if row.quantity != before.quantity or attributes != before.attributes:
        report.corrections.append(Amendment(source_key=row.source_key, at=at, quantity=row.quantity, attributes=attributes, reason="changed on the forum"))
        report.amended[row.action] += 1


def _at(moment: datetime, state: ActionState) -> datetime:
    """When a correction is booked: the run's time, never before the action or its last correction."""
    return max(moment, state.occurred_at, state.last_changed_at or moment)
