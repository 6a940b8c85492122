"""Importing a forum's scoring rows into a ledger, measured as the gamification plugin
measures them: one action per scoring row, with a stable source key.

The forum is only read (see `ledger.discourse.forum`). What is already recorded under a key
with the same payload is skipped, so a run with nothing new writes nothing. A key whose row
now reads differently (today's visit grew, an invite was redeemed again) is counted as
changed, and a recorded key whose row no longer scores as gone; both are left as recorded:
they need an amendment or a retraction, which the ledger cannot record yet.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, cast, func, select

from ledger import ledger_numbers
from ledger.api import Ledger
from ledger.discourse.forum import FIRST_KEY, Forum, pages
from ledger.discourse.queries import MAX_PAGE, load
from ledger.discourse.score_events import ScoreEvent, read_score_events
from ledger.discourse.scorables import ACTION_NAMES, SCORABLES, ForumShape, action_rows, detect_shape, key_prefix, query_for
from ledger.store.actions import ActionRow, LocatedRow
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
    """A recorded key whose row now reads differently: which payload fields differ, and the
    row as the forum has it now. A quantity or attributes change is an amendment; a user
    change a merge or re-attribution; an occurred_at change (a G1/G2 solution accepted
    again) a re-dating, which the planned corrections cannot express under the same key."""

    source_key: str
    fields: tuple[str, ...]
    now: ActionRow


@dataclass
class ImportReport:
    """What an import found and did, per action type."""

    shape: ForumShape
    found: Counter[str] = field(default_factory=Counter)
    added: Counter[str] = field(default_factory=Counter)
    changed: Counter[str] = field(default_factory=Counter)
    # Recorded keys whose row no longer scores (deleted, hidden, unaccepted...): each needs a
    # retraction, which the ledger cannot record yet, so they are counted and left.
    gone: Counter[str] = field(default_factory=Counter)
    gone_keys: list[str] = field(default_factory=list)
    changes: list[Changed] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    users: dict[int, ForumUser] = field(default_factory=dict)
    # Read, not yet recorded: the ledger has no adjustments to hold them yet.
    score_events: list[ScoreEvent] = field(default_factory=list)
    dry_run: bool = False
    full: bool = False
    batch_id: int | None = None

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
) -> ImportReport:
    """Record `forum`'s new scoring rows in `book` as one batch.

    By default each scorable is read from its watermark on (rows keyed above the highest
    key recorded for it), which finds every new row. `full` reads every row again and also
    counts recorded rows that changed or stopped scoring since (and rows that began to score
    under a key below the watermark, such as a post unhidden, which it adds)."""
    book.check_schema()
    shape = detect_shape(forum, generation)
    report = ImportReport(shape, dry_run=dry_run, full=full)
    report.users = read_users(forum, shape)
    # From watermarks, every row read is new; only a full read needs the recorded payloads.
    known = recorded(book) if full else {}
    marks = None if full else watermarks(book, [key_prefix(scorable, shape) for scorable in SCORABLES])
    rows = extract(forum, shape, report, progress, page_size, marks)
    if "gamification_score_events" in shape.tables:
        report.score_events = read_score_events(forum)
    fresh: list[LocatedRow] = []
    for row in rows:
        before = known.get(row.source_key)
        if before is None:
            fresh.append(LocatedRow("discourse", None, row))
            report.added[row.action] += 1
        elif _payload(before) != _payload(row):
            report.changed[row.action] += 1
            report.changes.append(Changed(row.source_key, tuple(row.differing_fields(before)), row))
    if known and full:
        seen = {row.source_key for row in rows}
        for key, row in known.items():
            if key not in seen and row.action not in report.skipped:
                report.gone[row.action] += 1
                report.gone_keys.append(key)
    if fresh and not dry_run:
        result = book.ingest_rows(fresh, origin=f"discourse import ({shape.generation})")
        report.batch_id = result.batch_id
    return report


def _payload(row: ActionRow) -> tuple[Any, ...]:
    return (row.user_id, row.action, row.occurred_at, row.quantity, row.attributes)
