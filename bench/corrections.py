"""What changes after the fact in the synthetic community: deleted posts, visits whose reading
grew, score events, merged accounts; as scoreledger's corrections and as forum state.

Derived from a `Community` with a random stream of its own (the community itself is the
same with or without them), so a seed and a size always give the same corrections:

- deleted posts (replies, a few days after they were written): their post_created, the
  likes on them (given and received) and a solution accepted on them are retracted, about
  2% of all actions; the forum side marks the posts deleted, which drops the same actions
  from the plugin's query;
- visits whose posts read and reading time grew later that day: amendments of posts_read
  and time_read; the forum side holds the grown values;
- score events: adjustments, imported (a platform's own events) and manual; the forum side
  has them in gamification_score_events, which the plugin adds to its sums;
- a few accounts merged into others; the forum side has the merged users' rows under their
  targets (a visit on a day its target also visited is added into the target's visit, as the
  forum keeps one visit per user and day).
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import cast

from bench.generator import DAYS, FIRST_DAY, SECONDS_PER_DAY, Clock, Community
from ledger import Ledger
from ledger.domain import Adjustment, Amendment, Retraction
from ledger.rows import LocatedRow

# Share of replies deleted: with the likes and solutions on them, about 2% of all actions.
DELETED_REPLY_SHARE = 0.04
# Mean days between a post and its deletion.
DELETION_DELAY_DAYS = 3.0
AMENDED_VISIT_SHARE = 0.03
IMPORTED_ADJUSTMENT_SHARE = 0.001
MANUAL_ADJUSTMENT_SHARE = 0.0002
MERGED_USER_SHARE = 0.0005
# Corrections and adjustments are recorded in batches of this many, in booking order, as a
# daily sync from the forum would send them.
BATCH_SIZE = 20_000


@dataclass
class Corrections:
    """The community's corrections, and the forum state they leave behind."""

    retractions: list[Retraction] = field(default_factory=list)
    amendments: list[Amendment] = field(default_factory=list)
    adjustments: list[Adjustment] = field(default_factory=list)
    # (source, target, at), in the order recorded; sources and targets are disjoint.
    merges: list[tuple[int, int, datetime]] = field(default_factory=list)
    # Forum state: post id -> (day, second) of its deletion; visit id -> grown values.
    deleted_posts: dict[int, tuple[int, int]] = field(default_factory=dict)
    grown_posts_read: dict[int, int] = field(default_factory=dict)
    grown_time_read: dict[int, int] = field(default_factory=dict)

    @property
    def merge_targets(self) -> dict[int, int]:
        return {source: target for source, target, _ in self.merges}

    @property
    def corrected_keys(self) -> set[str]:
        return {item.source_key for item in self.retractions} | {item.source_key for item in self.amendments}

    def correction_batches(self) -> list[list[Retraction | Amendment]]:
        """Retractions and amendments in booking order, in batches of BATCH_SIZE."""
        ordered: list[Retraction | Amendment] = sorted([*self.retractions, *self.amendments], key=lambda item: (item.at, item.source_key))
        return [ordered[start : start + BATCH_SIZE] for start in range(0, len(ordered), BATCH_SIZE)]

    def adjustment_batches(self) -> list[list[Adjustment]]:
        ordered = sorted(self.adjustments, key=lambda item: (item.on, item.key))
        return [ordered[start : start + BATCH_SIZE] for start in range(0, len(ordered), BATCH_SIZE)]

    def summary(self) -> dict[str, int]:
        return {
            "retractions": len(self.retractions),
            "amendments": len(self.amendments),
            "adjustments": len(self.adjustments),
            "merges": len(self.merges),
        }


def corrections_of(community: Community) -> Corrections:
    """The deterministic corrections of `community` (its own seed drives them)."""
    rng = random.Random(community.seed * 31 + 18)
    clock = Clock()
    found = Corrections()
    _deleted_replies(rng, clock, community, found)
    _grown_visits(rng, clock, community, found)
    _score_events(rng, community, found)
    _merged_users(rng, clock, community, found)
    return found


def _later(first: tuple[int, int], second: tuple[int, int]) -> tuple[int, int]:
    return max(first, second)


def _deleted_replies(rng: random.Random, clock: Clock, c: Community, found: Corrections) -> None:
    seen_topics: set[int] = set()
    for post, topic in enumerate(c.post_topic, start=1):
        if topic not in seen_topics:
            seen_topics.add(topic)  # a topic's first post: deleting it would delete the topic
            continue
        if rng.random() < DELETED_REPLY_SHARE:
            day = min(DAYS - 1, c.posts.day[post - 1] + int(rng.expovariate(1 / DELETION_DELAY_DAYS)))
            when = _later((day, rng.randrange(SECONDS_PER_DAY)), (c.posts.day[post - 1], c.posts.second[post - 1]))
            found.deleted_posts[post] = when
            found.retractions.append(Retraction(source_key=f"post_created:{post}", at=clock.moment(*when), reason="post deleted"))
    deleted = found.deleted_posts
    # A like or an accepted solution that came after the deletion (the generator does not
    # know about deletions) is retracted the moment it happened.
    for like, post in enumerate(c.like_post, start=1):
        if post in deleted:
            at = clock.moment(*_later(deleted[post], (c.likes.day[like - 1], c.likes.second[like - 1])))
            found.retractions.append(Retraction(source_key=f"like_given:{like}", at=at, reason="post deleted"))
            found.retractions.append(Retraction(source_key=f"like_received:{like}", at=at, reason="post deleted"))
    for solution, post in enumerate(c.solution_post, start=1):
        if post in deleted:
            at = clock.moment(*_later(deleted[post], (c.solutions.day[solution - 1], c.solutions.second[solution - 1])))
            found.retractions.append(Retraction(source_key=f"solution_accepted:{solution}", at=at, reason="post deleted"))


def _grown_visits(rng: random.Random, clock: Clock, c: Community, found: Corrections) -> None:
    for visit in range(1, len(c.visits) + 1):
        if rng.random() >= AMENDED_VISIT_SHARE:
            continue
        day, second = c.visits.day[visit - 1], c.visits.second[visit - 1]
        at = clock.moment(day, rng.randrange(second, SECONDS_PER_DAY))
        for kind, values, grown in (
            ("posts_read", c.posts_read, found.grown_posts_read),
            ("time_read", c.time_read, found.grown_time_read),
        ):
            old = values[visit - 1]
            if old > 0:
                grown[visit] = old + rng.randrange(1, old + 1)
                found.amendments.append(Amendment(source_key=f"{kind}:{visit}", at=at, quantity=grown[visit], reason="reading grew"))


def _score_events(rng: random.Random, c: Community, found: Corrections) -> None:
    actions = c.action_count
    for kind, share in (("imported", IMPORTED_ADJUSTMENT_SHARE), ("manual", MANUAL_ADJUSTMENT_SHARE)):
        for index in range(1, round(actions * share) + 1):
            day = rng.randrange(DAYS)
            user = rng.randrange(1, bisect_right(c.join_day, day) + 1)
            points = rng.randrange(1, 51) if kind == "imported" else rng.randrange(-20, 101)
            found.adjustments.append(
                Adjustment(
                    key=f"{kind}:{index}",
                    user_id=user,
                    points=points,
                    on=_day(day),
                    kind=kind,
                    reason="score event" if kind == "imported" else "moderator's award",
                    author=None if kind == "imported" else "moderator",
                    reference=f"score_event:{index}" if kind == "imported" else None,
                )
            )


def _merged_users(rng: random.Random, clock: Clock, c: Community, found: Corrections) -> None:
    count = max(1, round(c.users * MERGED_USER_SHARE))
    chosen = rng.sample(range(1, c.users + 1), 2 * count)
    for source, target in zip(chosen[:count], chosen[count:], strict=True):
        first = max(c.join_day[source - 1], c.join_day[target - 1])
        at = clock.moment(rng.randrange(first, DAYS), rng.randrange(SECONDS_PER_DAY))
        found.merges.append((source, target, at))
    found.merges.sort(key=lambda merge: merge[2])


def _day(day: int) -> date:
    return date.fromordinal(FIRST_DAY.toordinal() + day)


def record(book: Ledger, found: Corrections) -> int:
    """Record `found` into `book` after its actions: corrections and adjustments in batches,
    then each merge. Returns how many events were written."""
    written = 0
    for batch in found.correction_batches():
        written += book.record_corrections(batch, origin="bench corrections").new
    for adjustments in found.adjustment_batches():
        written += book.record_adjustments(adjustments, origin="bench adjustments").new
    for source, target, at in found.merges:
        written += book.merge_users(source, target, at=at, reason="duplicate account").new
    return written


def keys_to_retract(rows: Sequence[LocatedRow], found: Corrections, number: int, seed: int) -> list[str]:
    """`number` source keys drawn uniformly from `rows` (seeded), none corrected in `found`."""
    rng = random.Random(seed + number)
    corrected = found.corrected_keys
    number = min(number, len(rows) - len(corrected))
    picked: dict[str, None] = {}
    while len(picked) < number:
        key = rows[rng.randrange(len(rows))].row.source_key
        if key not in corrected:
            picked[key] = None
    return list(picked)


def users_to_merge(rows: Sequence[LocatedRow], found: Corrections, actions: int) -> tuple[int, int, int]:
    """The user whose action count is nearest `actions`, and the next nearest as its target,
    neither merged in `found`: (source, target, the source's action count)."""
    # The generated community names its users by integers.
    counts = Counter(cast(int, located.row.user_id) for located in rows)
    taken = {user for merge in found.merges for user in merge[:2]}
    ranked = sorted((abs(count - actions), user) for user, count in counts.items() if user not in taken)
    source, target = ranked[0][1], ranked[1][1]
    return source, target, counts[source]
