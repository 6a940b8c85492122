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
import re
import typing
from collections import Counter
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import BigInteger, cast, func, select

from ledger.api import Ledger
from ledger.discourse.forum import FIRST_KEY, NEVER, Forum, PostgresForum, as_datetime, pages
from ledger.discourse.queries import MAX_PAGE, load
from ledger.discourse.scorables import ACTION_NAMES, SCORABLES, ForumShape, action_rows, detect_shape, key_prefix, query_for, row_table
from ledger.discourse.score_events import ScoreEvent, read_score_events, score_event_adjustments
from ledger.discourse.user_ids import read_user_id_runs
from ledger.domain import ActionState, Adjustment, Amendment, Correction, Reinstatement, Retraction, UserNames, now_utc
from ledger.errors import InputProblem
from ledger.rows import ActionRow, CopyLines, LocatedRow
from ledger.store import ledger_numbers
from ledger.store.actions import CHUNK
from ledger.store.corrections import merge_targets
from ledger.store.engine import read_transaction
from ledger.store.tables import actions, batches, user_totals
from ledger.store.user_keys import latest_names, refs_of_numbers
from ledger.user_keys import UserRef

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
    # The forum users read: every user, or those the forum updated since `users_changed_since`.
    users: dict[int, ForumUser] = field(default_factory=dict)
    users_changed_since: datetime | None = None
    score_events: list[ScoreEvent] = field(default_factory=list)
    # The ledger's own events (marked `[scoreledger:<key>]`), recognised and not imported.
    own_events: int = 0
    adjustments: list[Adjustment] = field(default_factory=list)
    dry_run: bool = False
    full: bool = False
    # Why a run without --full reconciled every key all the same (None: it did not).
    reconciled_all_because: str | None = None
    batch_id: int | None = None

    @property
    def retracted_keys(self) -> list[str]:
        return [item.source_key for item in self.corrections if isinstance(item, Retraction)]

    @property
    def off_board(self) -> list[ForumUser]:
        return [user for user in self.users.values() if user.off_board]


def read_users(forum: Forum, shape: ForumShape, changed_since: datetime | None = None) -> dict[int, ForumUser]:
    """Usernames and names, and why each user is off the plugin's boards: staged,
    anonymized, an anonymous-posting shadow, a non-positive id (every generation's
    leaderboards), inactive or suspended (G2 and G3 drop their scores altogether). Every
    user, or with `changed_since` those the forum updated since then."""
    users = {}
    for page in pages(forum, load("users"), changed_since=changed_since):
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


# A first import through Data Explorer records what it read every this many rows: fewer,
# larger batches cost less per row, and a read cut short loses at most this many.
FLUSH_ROWS = 250_000


@dataclass
class Read:
    """What a read of the scorables found: the rows scoring now (as actions), and with a read
    of changes, the keys of changed rows that do not score, and when the forum changed each."""

    scoring: list[ActionRow] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    changed_at: dict[str, datetime] = field(default_factory=dict)


def extract(
    forum: Forum,
    shape: ForumShape,
    report: ImportReport,
    progress: Progress | None = None,
    page_size: int = MAX_PAGE,
    watermarks: dict[str, int] | None = None,
    *,
    changed_since: datetime | None = None,
    flush: Callable[[list[ActionRow]], None] | None = None,
    flush_every: int = FLUSH_ROWS,
) -> Read:
    """The rows of every scorable whose tables the forum has: those scoring now keyed above
    the scorable's watermark (its source-key prefix's highest recorded key), or all of them
    without watermarks; with `changed_since`, every row the forum changed since then, scoring
    or not. `flush` takes the scoring rows read so far whenever `flush_every` are waiting
    (pages are in key order, so what was flushed leaves a watermark to resume from), and the
    rest at the end."""
    read = Read()
    # Changed rows of a scorable that another scorable's query answered along with its own.
    answered: dict[str, list[dict[str, Any]]] = {}
    for scorable in SCORABLES:
        query = query_for(scorable, shape)
        if query is None:
            report.skipped[scorable.action] = f"table {', '.join(t for t in scorable.tables if t not in shape.tables)} absent"
            continue
        prefix = key_prefix(scorable, shape)
        after = (watermarks or {}).get(prefix, FIRST_KEY)
        if changed_since is None and isinstance(forum, PostgresForum):
            # A database: the rows come as actions, streamed (no call limit to keep).
            for lines in forum.scoring_lines(query, scorable.action, prefix, after=after, chunk=CHUNK):
                found = lines.rows
                read.scoring.extend(found)
                report.found[scorable.action] += len(found)
                if progress:
                    progress(scorable.action, len(found))
                if flush is not None and len(read.scoring) >= flush_every:
                    flush(read.scoring)
                    read.scoring = []
            continue
        along = ANSWERED_ALONG.get(scorable.action) if changed_since is not None else None
        if along is not None:
            answered[along.action] = []
        found_along = answered.pop(scorable.action, None)
        read_pages: Iterable[list[dict[str, Any]]]
        if found_along is None:
            read_pages = pages(forum, query, page_size=page_size, after=after, changed_since=changed_since)
        else:
            read_pages = [found_along] if found_along else []
        for page in read_pages:
            if along is not None and along.action in answered:
                rows = along.rows(page)
                if rows is None:
                    del answered[along.action]
                else:
                    answered[along.action].extend(rows)
            scoring = page
            if changed_since is not None:
                scoring = [row for row in page if row["scores"]]
                for row in page:
                    if not row["scores"]:
                        read.stopped.append(f"{prefix}:{row['key']}")
                    if row["changed_at"] is not None:
                        read.changed_at[f"{prefix}:{row['key']}"] = as_datetime(row["changed_at"])
            read.scoring.extend(action_rows(scorable.action, prefix, scoring))
            report.found[scorable.action] += len(scoring)
            if progress:
                progress(scorable.action, len(page))
            if flush is not None and len(read.scoring) >= flush_every:
                flush(read.scoring)
                read.scoring = []
    if flush is not None and read.scoring:
        flush(read.scoring)
        read.scoring = []
    return read


@dataclass(frozen=True)
class AnsweredAlong:
    """A scorable whose changed rows another scorable's query answers with its own: `rows`
    makes them of a page of that query's rows, or None where the rows lack its columns (a
    saved Data Explorer query older than them; the scorable's own query is read then)."""

    action: str
    rows: Callable[[list[dict[str, Any]]], list[dict[str, Any]] | None]


def _given_likes(page: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """like_given's rows of the likes of a page of like_received's, under their givers."""
    if page and "giver_id" not in page[0]:
        return None
    return [{**row, "user_id": row["giver_id"], "scores": row["giver_scores"]} for row in page]


# A later import reads the changed likes once: like_received's rows name their givers too.
ANSWERED_ALONG = {"like_received": AnsweredAlong("like_given", _given_likes)}


class ForumRows:
    """A database forum's scoring rows, every scorable in key order, as the RowSource of one
    batch (ledger/store/actions.py): each scorable's rows streamed by one statement and
    handed on a chunk at a time, and read again from the start should the writer need a
    second pass. `found` counts the rows of the latest complete read per action type."""

    def __init__(self, forum: PostgresForum, shape: ForumShape, report: ImportReport, progress: Progress | None) -> None:
        self.forum = forum
        self.shape = shape
        self.report = report
        self.progress = progress
        # The rows come from the forum's own queries, typed by its server: nothing to report.
        self.problems: list[InputProblem] = []
        self.found: Counter[str] = Counter()
        self._estimate: int | None = None
        self._passes = 0
        # Each prefix's highest key read, for the origins of the batches written after.
        self.marks: dict[str, int] = {}

    def chunks(self) -> Iterator[Sequence[LocatedRow]]:
        # Asked for while the rows stream, when the forum's connection is busy with them.
        self.estimated_rows()
        self._passes += 1
        found: Counter[str] = Counter()
        for action, chunk in self._read():
            found[action] += len(chunk)
            if self.progress and self._passes == 1:
                self.progress(action, len(chunk))
            yield chunk
        self.found = found

    def _read(self) -> Iterator[tuple[str, CopyLines]]:
        for scorable in SCORABLES:
            query = query_for(scorable, self.shape)
            if query is None:
                self.report.skipped[scorable.action] = f"table {', '.join(t for t in scorable.tables if t not in self.shape.tables)} absent"
                continue
            prefix = key_prefix(scorable, self.shape)
            for lines in self.forum.scoring_lines(query, scorable.action, prefix, chunk=CHUNK):
                # Rows come in key order: a chunk's last holds its highest key.
                self.marks = with_keys(self.marks, lines[-1:].rows)
                yield scorable.action, lines

    def estimated_rows(self) -> int | None:
        """The forum's own estimate of the rows its scorables read (the planner's row counts of
        their tables), for the writer's choice of its bulk path."""
        if self._estimate is None:
            tables = [row_table(scorable) for scorable in SCORABLES if query_for(scorable, self.shape) is not None]
            self._estimate = self.forum.estimated_rows(tables)
        return self._estimate


def recorded(book: Ledger) -> dict[str, ActionRow]:
    """The ledger's recorded actions of the plugin's action types, by source key."""
    with read_transaction(book.engine) as conn:
        number = ledger_numbers.number_of(conn, book.name)
        if number == ledger_numbers.UNNUMBERED:
            return {}
        found = conn.execute(
            select(
                actions.c.source_key, actions.c.user_id, actions.c.action, actions.c.occurred_at, actions.c.quantity, actions.c.attributes
            ).where(actions.c.ledger_id == number, actions.c.action.in_(ACTION_NAMES))
        )
        return {row[0]: ActionRow(*row) for row in found}


def watermarks(book: Ledger, prefixes: list[str]) -> dict[str, int]:
    """Each source-key prefix's highest recorded key, read off the keys themselves: every key
    of the prefix's range of the (source_key, ledger) key, since keys sort as text, not by
    number. For a ledger whose imports recorded no key marks (`recorded_marks`)."""
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


# Batches an import writes say, in their origin, up to when the forum's changes were seen,
# and each prefix's highest recorded key (its key mark) once the batch is written.
ORIGIN = "discourse import"
_SEEN_TO = re.compile(r"changes seen to ([^;\s]+)")
_KEYS_TO = re.compile(r"keys to ([^;\s]+)")
# Rows changed shortly before the last import's clock are read again: a transaction that
# began before it may have committed after the read.
OVERLAP = timedelta(minutes=15)
# Before any forum row: a full import reads the changes since then, i.e. every row.
EPOCH = datetime(1970, 1, 1)


def import_origins(book: Ledger) -> list[str]:
    """The origins of the batches imports wrote to `book`."""
    with read_transaction(book.engine) as conn:
        found = conn.execute(select(batches.c.origin).where(batches.c.ledger == book.name, batches.c.origin.like(f"{ORIGIN}%"))).scalars()
        return [origin for origin in found if origin]


def changes_seen_to(origins: list[str]) -> datetime | None:
    """The forum time up to which the latest import saw every change (the change watermark),
    from the origins of the batches imports wrote; None before the first import."""
    seen = [datetime.fromisoformat(match[1]) for origin in origins if (match := _SEEN_TO.search(origin))]
    return max(seen, default=None)


def recorded_marks(origins: list[str]) -> dict[str, int] | None:
    """Each prefix's highest recorded key as the imports' batches say it, the highest any
    says (each says every prefix's, as of its writing); None when none says any (a ledger
    an older version imported into, or whose first import wrote nothing after its rows)."""
    marks: dict[str, int] | None = None
    for origin in origins:
        match = _KEYS_TO.search(origin)
        if match is not None:
            marks = _raised(marks or {}, match[1].split(","))
    return marks


def with_keys(marks: dict[str, int], rows: Iterable[ActionRow]) -> dict[str, int]:
    """`marks` raised to the keys of `rows` about to be recorded."""
    return _raised(marks, (row.source_key for row in rows))


def _raised(marks: dict[str, int], keys: Iterable[str]) -> dict[str, int]:
    """A copy of `marks` with each prefix raised to the highest of `keys` (`prefix:n`) in it."""
    raised = dict(marks)
    for key in keys:
        prefix, _, number = key.rpartition(":")
        raised[prefix] = max(raised.get(prefix, FIRST_KEY), int(number))
    return raised


def import_origin(shape: ForumShape, seen_to: datetime, marks: dict[str, int]) -> str:
    """What an import's batches say in their origin (see `changes_seen_to`, `recorded_marks`)."""
    keys = ",".join(f"{prefix}:{number}" for prefix, number in sorted(marks.items()))
    # The change watermark last: versions before the key marks read it up to the end.
    return f"{ORIGIN} ({shape.generation}); {f'keys to {keys}; ' if keys else ''}changes seen to {seen_to.isoformat()}"


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
    """Record `forum`'s new scoring rows in `book`, and correct what changed on the forum.

    Each scorable is read from its watermark on (rows keyed above the highest key recorded
    for it), which finds every new row; then every row the forum changed since the last
    import (its change watermark, kept in the origin of the batches it wrote, less a small
    overlap) is read again, scoring or not, and reconciled with its recorded key: a key no
    longer scoring is retracted, a retracted one scoring again reinstated, a changed quantity
    or attributes amended, a key now under another user (Discourse merged the accounts)
    makes a merge of the old user into the new. A user the ledger has and the forum no longer
    has, whose rows now read under another user, was merged there: the run then reconciles
    every key, as `full` always does (merges fold and delete rows no timestamp shows).
    Corrections are booked when the forum changed the row (never after `now`, the time of
    the run by default). Score events become adjustments of kind `imported` on every run,
    except the ledger's own (marked). The forum's usernames and names are recorded where they
    differ from the ledger's: every user's compared on a first or full run, otherwise those of
    the users the forum updated since the change watermark."""
    book.check_schema()
    moment = now or now_utc()
    shape = detect_shape(forum, generation)
    report = ImportReport(shape, dry_run=dry_run, full=full)
    prefixes = [key_prefix(scorable, shape) for scorable in SCORABLES]
    origins = import_origins(book)
    recorded = recorded_marks(origins)
    marks = recorded if recorded is not None else watermarks(book, prefixes)
    seen_before = changes_seen_to(origins) if marks else None
    if seen_before is not None and not full:
        # The earlier imports recorded every user's names: only those updated since can differ.
        report.users_changed_since = seen_before - OVERLAP
    report.users = read_users(forum, shape, report.users_changed_since)
    if marks and not full:
        on_forum = report.users if report.users_changed_since is None else forum_user_ids(forum)
        report.merges = vanished_user_merges(book, forum, shape, on_forum)
        # A merge folds and deletes rows no timestamp shows; a ledger without a change
        # watermark cannot tell what changed: both need every key reconciled.
        if report.merges:
            report.reconciled_all_because = "a user gone from the forum was merged into another there"
        elif seen_before is None:
            report.reconciled_all_because = "the ledger holds no change watermark of an earlier import"
        if report.reconciled_all_because:
            report.full = full = True
    seen_to = shape.forum_now or moment
    origin = import_origin(shape, seen_to, marks)
    fresh: list[LocatedRow] = []
    if full:
        known = book.action_states()
        read = extract(forum, shape, report, progress, page_size, changed_since=EPOCH)
    elif not marks and isinstance(forum, PostgresForum):
        # A first import from a database: every scoring row streamed into one batch, which
        # an empty ledger takes by its bulk path (one index rebuild, not one per flush).
        streamed = ForumRows(forum, shape, report, progress)
        if dry_run:
            for chunk in streamed.chunks():
                for located in chunk:
                    report.added[located.row.action] += 1
        else:
            written = book.ingest_rows(streamed, origin=origin)
            report.batch_id = written.batch_id
            report.added.update(streamed.found)
            # The batches written after the rows say where the next import resumes.
            origin = import_origin(shape, seen_to, streamed.marks)
        report.found.update(streamed.found)
        known, read = {}, Read()
    elif not marks:
        # A first import through Data Explorer: each scorable is recorded as soon as it is
        # read, so that a read cut short (calls refused, a limit reached) resumes from the
        # watermarks it left.
        def write(rows: list[ActionRow]) -> None:
            nonlocal marks, origin
            for row in rows:
                report.added[row.action] += 1
            if not dry_run:
                marks = with_keys(marks, rows)
                origin = import_origin(shape, seen_to, marks)
                report.batch_id = book.ingest_rows([LocatedRow("discourse", None, row) for row in rows], origin=origin).batch_id

        extract(forum, shape, report, progress, page_size, flush=write)
        known, read = {}, Read()
    else:
        new = extract(forum, shape, report, progress, page_size, marks)
        fresh = [LocatedRow("discourse", None, row) for row in new.scoring]
        for row in new.scoring:
            report.added[row.action] += 1
        # Without a change watermark every key is reconciled (the full branch above).
        assert seen_before is not None
        read = extract(forum, shape, ImportReport(shape), progress, page_size, changed_since=seen_before - OVERLAP)
        taken = {row.source_key for row in new.scoring}
        read.scoring = [row for row in read.scoring if row.source_key not in taken]
        known = book.action_states([row.source_key for row in read.scoring] + read.stopped)
    targets = merge_targets_of(book) if known else {}
    for row in read.scoring:
        before = known.get(row.source_key)
        if before is None:
            fresh.append(LocatedRow("discourse", None, row))
            report.added[row.action] += 1
        else:
            _reconcile(before, row, targets, _when(moment, read.changed_at.get(row.source_key)), report)
    for key in read.stopped:
        state = known.get(key)
        if state is not None and state.active:
            at = _at(_when(moment, read.changed_at.get(key)), state)
            report.corrections.append(Retraction(source_key=key, at=at, reason="no longer scores on the forum"))
            report.retracted[state.action] += 1
    if full:
        seen = {row.source_key for row in read.scoring} | set(read.stopped)
        for key, state in known.items():
            if key not in seen and state.active and state.action in ACTION_NAMES and state.action not in report.skipped:
                report.corrections.append(Retraction(source_key=key, at=_at(moment, state), reason="no longer on the forum"))
                report.retracted[state.action] += 1
    if "gamification_score_events" in shape.tables:
        report.score_events = read_score_events(forum)
        report.own_events = sum(1 for event in report.score_events if event.is_ledgers_own)
        report.adjustments = score_event_adjustments(
            [event for event in report.score_events if not event.is_ledgers_own], book.adjustments(kind="imported"), full=full
        )
    if dry_run:
        return report
    if fresh:
        origin = import_origin(shape, seen_to, with_keys(marks, (located.row for located in fresh)))
        report.batch_id = book.ingest_rows(fresh, origin=origin).batch_id
    for source, target in report.merges.items():
        book.merge_users(source, target, at=moment, reason="merged on the forum")
    if report.corrections:
        book.record_corrections(report.corrections, origin=origin)
    if report.adjustments:
        book.record_adjustments(report.adjustments, origin=origin)
    compared = None if report.users_changed_since is None else list(report.users)
    names = forum_names(report.users.values(), recorded_names(book, compared))
    if names:
        # Only names that changed since the last run are recorded.
        book.import_users(names, origin=origin)
    return report


def forum_names(users: Iterable[ForumUser], recorded: dict[UserRef, tuple[str | None, str | None]] | None = None) -> list[UserNames]:
    """The forum users' usernames and names, for `scores`, `leaderboard` and `audit`, but for
    those `recorded` already holds as the latest (validating ten thousands of unchanged names
    costs more than the rest of a run that finds little new); a user whose names the ledger
    cannot store (a NUL, say) is left unnamed rather than stopping the import."""
    recorded = recorded or {}
    named = []
    for user in users:
        if recorded.get(user.user_id, _UNNAMED) == (_stored(user.username), _stored(user.name)):
            continue
        try:
            named.append(UserNames(user=user.user_id, username=user.username or None, name=user.name or None))
        except ValidationError:
            continue
    return named


_UNNAMED = (None, None, None)


def _stored(text: str | None) -> str | None:
    """A name as `UserNames` stores it: stripped, and empty as none."""
    return (text.strip() or None) if isinstance(text, str) else text


def recorded_names(book: Ledger, users: list[int] | None = None) -> dict[UserRef, tuple[str | None, str | None]]:
    """Every named user's latest (username, name) in `book`, or those of `users` (forum
    user ids, stored as their own numbers)."""
    if users is not None and not users:
        return {}
    with read_transaction(book.engine) as conn:
        number = ledger_numbers.number_of(conn, book.name)
        if number == ledger_numbers.UNNUMBERED:
            return {}
        names = latest_names(conn, number, users)
        refs = refs_of_numbers(conn, number, names)
    return {refs[user]: (found.username, found.name) for user, found in names.items()}


def _when(moment: datetime, changed_at: datetime | None) -> datetime:
    """When the forum changed a row, as far as it tells, and never after the run."""
    return moment if changed_at is None else min(moment, changed_at)


def forum_user_ids(forum: Forum) -> Container[int]:
    """Every user id the forum has, by runs of ids; by reading every user where the forum's
    saved Data Explorer query predates the runs (it answers none)."""
    runs = read_user_id_runs(forum)
    if runs:
        return runs
    return {int(row["key"]) for page in pages(forum, load("users")) for row in page}


def vanished_user_merges(
    book: Ledger, forum: Forum, shape: ForumShape, users: Container[int], tries: int = 5, most: int = 100
) -> dict[int, int]:
    """Users the ledger has and the forum no longer has (Discourse deletes the source of a
    merge), with the user a row of theirs now reads under: found by reading a few of their
    recorded keys on the forum again, one row each (at most `tries` keys of at most `most`
    users a run: a user deleted without a merge is looked at again on every run)."""
    queries = {key_prefix(scorable, shape): query for scorable in SCORABLES if (query := query_for(scorable, shape)) is not None}
    merges: dict[int, int] = {}
    with read_transaction(book.engine) as conn:
        number = ledger_numbers.number_of(conn, book.name)
        if number == ledger_numbers.UNNUMBERED:
            return merges
        merged = merge_targets(conn, number)
        known = conn.execute(select(user_totals.c.user_id).where(user_totals.c.ledger_id == number)).scalars().all()
        gone = [user for user in known if user not in users and user not in merged][:most]
        keys = {
            user: conn.execute(
                select(actions.c.source_key)
                .where(actions.c.ledger_id == number, actions.c.user_id == user)
                .order_by(actions.c.seq)
                .limit(tries)
            )
            .scalars()
            .all()
            for user in gone
        }
    for user, user_keys in keys.items():
        for key in user_keys:
            prefix, number_text = key.rsplit(":", 1)
            query = queries.get(prefix)
            if query is None or not number_text.lstrip("-").isdigit():
                continue
            rows = forum.run(query, {"after": int(number_text) - 1, "limit": 1, "changed_since": NEVER})
            if rows and int(rows[0]["key"]) == int(number_text) and rows[0]["user_id"] is not None and int(rows[0]["user_id"]) != user:
                merges[user] = int(rows[0]["user_id"])
                break
    return merges


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
    # A forum names its users by their integer ids, in its rows and in the keys it recorded.
    before_user, row_user = typing.cast(int, before.user_id), typing.cast(int, row.user_id)
    counted_for = targets.get(before_user, before_user)
    if row_user != counted_for:
        if report.merges.get(counted_for, row_user) == row_user and targets.get(row_user, row_user) == row_user:
            report.merges[counted_for] = row_user
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
        report.corrections.append(
            Amendment(source_key=row.source_key, at=at, quantity=row.quantity, attributes=attributes, reason="changed on the forum")
        )
        report.amended[row.action] += 1


def _at(moment: datetime, state: ActionState) -> datetime:
    """When a correction is booked: the run's time, never before the action or its last correction."""
    return max(moment, state.occurred_at, state.last_changed_at or moment)
