"""The compensation plan: what each user's forum total will be after the plugin recalculates,
against the ledger's truth, and the score event that makes the two agree.

After a recalculation from DAY (the plugin's "all time" button sends 2014-08-26) a user's
forum total is:

    the stored daily scores before DAY, as they are now (read from the forum)
  + every scorable of DAY onwards at the values in force now (the ledger prices each action
    as it stands, on its own day, at today's values: Ledger.platform_points)
  + every score event dated DAY onwards (Discourse's own, and the compensations posted before)

The ledger's truth is its own total: each action at the values in force on its day, plus the
imported score events (not the compensations: those are what was sent). Each user whose two
figures differ gets one compensating score event of the difference. With point values never
changed since the import, the plan is empty.

Users the plugin leaves out of its scores (G2/G3: inactive or suspended) can not be
compensated and are skipped, counted in the plan.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import cast

from ledger import Ledger
from ledger.discourse.forum import Forum
from ledger.discourse.importer import ForumUser, read_users
from ledger.discourse.push import PlannedEvent, key_in
from ledger.discourse.queries import load
from ledger.discourse.scorables import ForumShape
from ledger.discourse.score_events import read_score_events
from ledger.discourse.settings import leaderboards
from ledger.domain import today_utc

# The day the plugin's "all time" recalculation starts from.
ALL_TIME = date(2014, 8, 26)
# Why a user cannot be compensated: the plugin drops their scores and events altogether.
UNSCORED = ("inactive", "suspended")


@dataclass(frozen=True)
class PlanRow:
    """One user who needs a compensating score event of `difference` points."""

    user_id: int
    username: str | None
    name: str | None
    discourse_points: int
    ledger_points: int

    @property
    def difference(self) -> int:
        return self.ledger_points - self.discourse_points


@dataclass
class Plan:
    """Every user whose forum total will differ from the ledger's, and why the others don't count."""

    recalculate_from: date
    as_of: date
    rows: list[PlanRow] = field(default_factory=list)
    users_compared: int = 0
    skipped_unscored: int = 0
    leaderboard_id: int | None = None
    warnings: list[str] = field(default_factory=list)
    # How many compensations the ledger already holds per user: part of each new key, so a
    # second change planned the same day never reuses a key the first one posted.
    earlier_compensations: dict[int, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(row.difference for row in self.rows)

    def key_for(self, row: PlanRow) -> str:
        """The compensation's key: the same user, difference, day and number of earlier
        compensations always give the same key, so a push re-run after a crash finds what it
        already sent."""
        sign = "p" if row.difference > 0 else "m"
        number = self.earlier_compensations.get(row.user_id, 0) + 1
        return f"comp-{self.as_of:%Y%m%d}-u{row.user_id}-n{number}-{sign}{abs(row.difference)}"

    def reason(self, row: PlanRow) -> str:
        return f"scoreledger compensation: {row.difference:+d} points so that the forum shows the ledger's total ({row.ledger_points})"

    def digest(self) -> str:
        """A short fingerprint of what the plan asks for (to tell two plans apart)."""
        text = "\n".join(f"{row.user_id}:{row.difference}" for row in self.rows)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def make_plan(
    book: Ledger,
    forum: Forum,
    shape: ForumShape,
    *,
    recalculate_from: date | None = None,
    as_of: date | None = None,
    leaderboard_id: int | None = None,
    users: dict[int, ForumUser] | None = None,
) -> Plan:
    """The plan for a recalculation from `recalculate_from` (default: all time) at the values
    in force on `as_of` (default: today), on a G3 forum for `leaderboard_id` (default: the
    first leaderboard that follows the site's values)."""
    start = recalculate_from or ALL_TIME
    plan = Plan(start, as_of or today_utc())
    if shape.generation == "G3":
        plan.leaderboard_id = _target_leaderboard(forum, leaderboard_id, plan.warnings)
    forum_points: dict[int, int] = defaultdict(int)
    for user_id, points in stored_before(forum, shape, start, plan.leaderboard_id).items():
        forum_points[user_id] += points
    # A forum's ledger names its users by their integer forum ids.
    for row in book.platform_points(plan.as_of, from_day=start):
        forum_points[cast(int, row.user_id)] += row.points
    for event in read_score_events(forum):
        if event.on >= start:
            forum_points[event.user_id] += event.points
    truth = {cast(int, row.user_id): row.points for row in book.scores()}
    plan.earlier_compensations = dict(Counter(cast(int, adjustment.user_id) for adjustment in book.adjustments(kind="compensation")))
    known = users if users is not None else read_users(forum, shape)
    for user_id in sorted(set(forum_points) | set(truth)):
        user = known.get(user_id)
        if user is not None and any(reason in UNSCORED for reason in user.off_board):
            plan.skipped_unscored += 1
            continue
        plan.users_compared += 1
        compared = PlanRow(
            user_id, user.username if user else None, user.name if user else None, forum_points.get(user_id, 0), truth.get(user_id, 0)
        )
        if compared.difference:
            plan.rows.append(compared)
    return plan


def stored_before(forum: Forum, shape: ForumShape, before: date, leaderboard_id: int | None) -> dict[int, int]:
    """Each user's stored daily scores on the forum, summed over the days before `before`."""
    if shape.generation == "G3":
        query, params = load("stored_leaderboard_scores"), {"before": before, "leaderboard_id": leaderboard_id}
    else:
        query, params = load("stored_scores"), {"before": before}
    totals: dict[int, int] = {}
    after = -(2**62)
    while True:
        rows = forum.run(query, {**params, "after": after, "limit": 10_000})
        totals.update((int(row["key"]), int(row["points"])) for row in rows)
        if len(rows) < 10_000:
            return totals
        after = int(rows[-1]["key"])


def _target_leaderboard(forum: Forum, chosen: int | None, warnings: list[str]) -> int | None:
    """The leaderboard the plan aims at, and a warning naming those with their own values:
    every score event lands in every leaderboard at full value."""
    found = leaderboards(forum)
    own_values = [board for board in found if board.overrides or board.categories is not None]
    if own_values:
        warnings.append(
            "leaderboards with their own point values or categories also receive every compensation at full value: "
            + ", ".join(f"{board.name!r} (id {board.leaderboard_id})" for board in own_values)
        )
    if chosen is not None:
        return chosen
    following = [board for board in found if not board.overrides and board.categories is None]
    if following:
        return following[0].leaderboard_id
    return found[0].leaderboard_id if found else None


def planned_events(plan: Plan) -> list[PlannedEvent]:
    """The plan's rows as the score events to post, each keyed for ever (ledger/discourse/push.py)."""
    return [PlannedEvent(plan.key_for(row), row.user_id, plan.as_of, row.difference, plan.reason(row)) for row in plan.rows]


@dataclass
class Verification:
    """How the forum's current totals compare with the ledger's, and the compensations that
    are only on one side."""

    differences: list[PlanRow] = field(default_factory=list)
    missing_on_forum: list[str] = field(default_factory=list)
    unknown_to_ledger: list[str] = field(default_factory=list)
    users_compared: int = 0

    @property
    def agrees(self) -> bool:
        return not (self.differences or self.missing_on_forum or self.unknown_to_ledger)


def verify_forum(book: Ledger, forum: Forum, shape: ForumShape, *, leaderboard_id: int | None = None) -> Verification:
    """Every scored user whose total on the forum now (its scores table) differs from the
    ledger's, and the compensations recorded in the ledger that the forum does not hold, or
    that carry our marker on the forum but are unknown to the ledger."""
    result = Verification()
    warnings: list[str] = []
    board = _target_leaderboard(forum, leaderboard_id, warnings) if shape.generation == "G3" else None
    forum_points = stored_before(forum, shape, date(9999, 12, 31), board)
    truth = {cast(int, row.user_id): row.points for row in book.scores()}
    users = read_users(forum, shape)
    for user_id in sorted(set(forum_points) | set(truth)):
        user = users.get(user_id)
        if user is not None and any(reason in UNSCORED for reason in user.off_board):
            continue
        result.users_compared += 1
        row = PlanRow(
            user_id, user.username if user else None, user.name if user else None, forum_points.get(user_id, 0), truth.get(user_id, 0)
        )
        if row.difference:
            result.differences.append(row)
    ours_on_forum = {key for event in read_score_events(forum) if (key := key_in(event.description)) is not None}
    recorded = {adjustment.key for adjustment in book.adjustments(kind="compensation")}
    result.missing_on_forum = sorted(recorded - ours_on_forum)
    result.unknown_to_ledger = sorted(ours_on_forum - recorded)
    return result
