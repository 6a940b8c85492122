"""A reproducible synthetic forum community, as forum rows and as the ledger's actions.

The community is generated once, as plain columns of forum facts (visits, topics, posts,
likes, accepted solutions, agreed flags, redeemed invites); both sides of the benchmark are
derived from the same facts: `ledger_rows` gives scoreledger's actions, and
`bench.discourse_baseline` loads the same facts into Discourse-shaped tables. So the
side-by-side compares two ways of scoring one community, not two different datasets.

Shape, like a real forum: activity grows over about six years (and dips at weekends); users
join over time, most early members are the heavy ones; a user's activity weight is Pareto
distributed (a few heavy users, many light ones). Everything comes from one seeded
`random.Random`, so a seed and a size always give the same community.

Pure Python (no NumPy, so CI needs nothing extra); tuned to build 10M actions in about a
minute: batched `random.choices` with cumulative weights, bisect for "users who had joined
by that day", and precomputed datetimes per day and per second.
"""

from __future__ import annotations

import gc
import math
import random
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import accumulate, count, repeat

from ledger.rows import ActionRow, LocatedRow

FIRST_DAY = date(2020, 1, 1)
DAYS = (date(2026, 1, 1) - FIRST_DAY).days  # 2020-01-01 .. 2025-12-31
SECONDS_PER_DAY = 86_400
# Activity at the end of the history relative to its start.
GROWTH = 8.0
WEEKEND_FACTOR = 0.7
# Pareto shape for per-user activity: about 80% of activity from 20% of users.
PARETO_ALPHA = 1.16
FOUNDING_SHARE = 0.01

# Forum facts per action, chosen so that the ten action types add up to the requested total
# (a like is two actions: given and received; a visit is day_visited plus, often,
# posts_read and time_read; a topic is topic_created plus its first post).
VISIT_SHARE = 0.20
TOPIC_SHARE = 0.02
REPLY_SHARE = 0.16
LIKE_SHARE = 0.19
SOLUTION_SHARE = 0.005
FLAG_SHARE = 0.003
INVITE_SHARE = 0.002
POSTS_READ_CHANCE = 0.6
TIME_READ_CHANCE = 0.45
# Replies and likes go to recent topics and posts: how far back they reach, in items.
RECENT_TOPICS = 2_000
RECENT_POSTS = 20_000

ACTION_TYPES = (
    "day_visited",
    "posts_read",
    "time_read",
    "topic_created",
    "post_created",
    "like_given",
    "like_received",
    "solution_accepted",
    "flag_agreed",
    "user_invited",
)


@dataclass
class Facts:
    """One kind of forum fact as parallel columns; `day` and `second` place it in time."""

    user: array = field(default_factory=lambda: array("q"))
    day: array = field(default_factory=lambda: array("l"))
    second: array = field(default_factory=lambda: array("l"))

    def __len__(self) -> int:
        return len(self.user)


@dataclass
class Community:
    """The generated forum. Ids are 1-based positions in each column set."""

    seed: int
    users: int
    join_day: array
    visits: Facts
    posts_read: array
    time_read: array
    topics: Facts
    posts: Facts
    post_topic: array
    likes: Facts
    like_post: array
    solutions: Facts
    solution_post: array
    flags: Facts
    invites: Facts
    invite_redemptions: array

    @property
    def action_count(self) -> int:
        return (
            len(self.visits)
            + sum(1 for value in self.posts_read if value > 0)
            + sum(1 for value in self.time_read if value > 0)
            + len(self.topics)
            + len(self.posts)
            + 2 * len(self.likes)
            + len(self.solutions)
            + len(self.flags)
            + len(self.invites)
        )


class _Sampler:
    """Draws (user, day, second) for facts: day by growth, user by weight among those joined."""

    def __init__(self, rng: random.Random, users: int) -> None:
        self.rng = rng
        day_weights = [
            math.exp(math.log(GROWTH) * day / DAYS) * (WEEKEND_FACTOR if (FIRST_DAY + timedelta(day)).weekday() >= 5 else 1.0)
            for day in range(DAYS)
        ]
        self.day_cumulative = list(accumulate(day_weights))
        founders = max(1, int(users * FOUNDING_SHARE))
        later = sorted(rng.choices(range(DAYS), cum_weights=self.day_cumulative, k=users - founders))
        self.join_day = array("l", [0] * founders + later)
        # Users are numbered in joining order, so "joined by day d" is a prefix of the ids.
        weights = [rng.paretovariate(PARETO_ALPHA) for _ in range(users)]
        self.user_cumulative = list(accumulate(weights))
        self.joined_by = [bisect_right(self.join_day, day) for day in range(DAYS)]

    def draw(self, count: int, facts: Facts) -> None:
        rng = self.rng
        days = sorted(rng.choices(range(DAYS), cum_weights=self.day_cumulative, k=count))
        cumulative = self.user_cumulative
        joined_by = self.joined_by
        random_unit = rng.random
        users = [bisect_left(cumulative, random_unit() * cumulative[joined_by[day] - 1]) + 1 for day in days]
        facts.user.extend(users)
        facts.day.extend(days)
        facts.second.extend(rng.choices(range(SECONDS_PER_DAY), k=count))


def generate(actions: int, users: int, seed: int = 20_260_101) -> Community:
    """A community of about `actions` scoring actions among `users` users."""
    rng = random.Random(seed)
    sampler = _Sampler(rng, users)
    visits = _unique_visits(sampler, round(actions * VISIT_SHARE))
    posts_read = array("q", [rng.randrange(5, 200) if rng.random() < POSTS_READ_CHANCE else 0 for _ in range(len(visits))])
    time_read = array("q", [rng.randrange(60, 7_200) if rng.random() < TIME_READ_CHANCE else 0 for _ in range(len(visits))])

    topics = Facts()
    sampler.draw(round(actions * TOPIC_SHARE), topics)
    replies = Facts()
    sampler.draw(round(actions * REPLY_SHARE), replies)
    posts, post_topic = _posts(rng, topics, replies)

    likes = Facts()
    sampler.draw(round(actions * LIKE_SHARE), likes)
    like_post = _recent_items(rng, posts, likes, RECENT_POSTS)

    solutions, solution_post = _solutions(rng, posts, post_topic, round(actions * SOLUTION_SHARE))
    flags = Facts()
    sampler.draw(round(actions * FLAG_SHARE), flags)
    invites = Facts()
    sampler.draw(round(actions * INVITE_SHARE), invites)
    redemptions = array("q", [1 + int(rng.expovariate(1.0)) for _ in range(len(invites))])
    return Community(
        seed,
        users,
        sampler.join_day,
        visits,
        posts_read,
        time_read,
        topics,
        posts,
        post_topic,
        likes,
        like_post,
        solutions,
        solution_post,
        flags,
        invites,
        redemptions,
    )


def _unique_visits(sampler: _Sampler, count: int) -> Facts:
    """Visits, at most one per user and day (Discourse's user_visits is unique on both).

    Heavy users draw the same day more than once; repeats are dropped and the shortfall
    drawn again, so the community still has `count` visits.
    """
    seen: set[int] = set()
    visits = Facts()
    for _ in range(10):
        missing = count - len(visits)
        if missing <= 0:
            break
        drawn = Facts()
        sampler.draw(missing, drawn)
        for user, day, second in zip(drawn.user, drawn.day, drawn.second, strict=True):
            key = user * DAYS + day
            if key in seen:
                continue
            seen.add(key)
            visits.user.append(user)
            visits.day.append(day)
            visits.second.append(second)
    return visits


def _posts(rng: random.Random, topics: Facts, replies: Facts) -> tuple[Facts, array]:
    """Every topic's first post and the replies, in time order, each with its topic."""
    events = sorted(
        [(day, second, 0, index) for index, (day, second) in enumerate(zip(topics.day, topics.second, strict=True))]
        + [(day, second, 1, index) for index, (day, second) in enumerate(zip(replies.day, replies.second, strict=True))]
    )
    posts = Facts()
    post_topic = array("q")
    topics_so_far = 0
    topic_order = {}  # topic index -> topic id in time order (ids follow creation order)
    for day, second, kind, index in events:
        if kind == 0:
            topics_so_far += 1
            topic_order[index] = topics_so_far
            topic = topics_so_far
            user = topics.user[index]
        else:
            if topics_so_far == 0:
                continue  # a reply before any topic exists has nowhere to go
            topic = topics_so_far - int(rng.random() * min(topics_so_far, RECENT_TOPICS))
            user = replies.user[index]
        posts.user.append(user)
        posts.day.append(day)
        posts.second.append(second)
        post_topic.append(topic)
    # Renumber topics so that topic id i is the i-th created, matching post_topic.
    ordered = sorted(range(len(topics)), key=topic_order.__getitem__)
    renumbered = Facts()
    for index in ordered:
        renumbered.user.append(topics.user[index])
        renumbered.day.append(topics.day[index])
        renumbered.second.append(topics.second[index])
    topics.user, topics.day, topics.second = renumbered.user, renumbered.day, renumbered.second
    return posts, post_topic


def _recent_items(rng: random.Random, items: Facts, events: Facts, reach: int) -> array:
    """For each event (in time order), a recent item created no later than its day."""
    chosen = array("q")
    item_days = items.day
    for day in events.day:
        available = bisect_right(item_days, day)
        if available == 0:
            available = 1  # an event on the very first day goes to the first item
        chosen.append(available - int(rng.random() * min(available, reach)))
    return chosen


def _solutions(rng: random.Random, posts: Facts, post_topic: array, count: int) -> tuple[Facts, array]:
    """Accepted answers: a reply, accepted a little after it was written, at most one per topic."""
    solutions = Facts()
    solution_post = array("q")
    solved: set[int] = set()
    for _ in range(count):
        post = rng.randrange(1, len(posts) + 1)
        topic = post_topic[post - 1]
        if topic in solved:
            continue
        solved.add(topic)
        day = min(DAYS - 1, posts.day[post - 1] + int(rng.expovariate(0.5)))
        solutions.user.append(posts.user[post - 1])
        solutions.day.append(day)
        solutions.second.append(rng.randrange(SECONDS_PER_DAY))
        solution_post.append(post)
    return solutions, solution_post


class Clock:
    """Precomputed datetimes and text spellings, so millions of timestamps stay cheap."""

    def __init__(self) -> None:
        start = datetime.combine(FIRST_DAY, datetime.min.time())
        self.day_start = [start + timedelta(days=day) for day in range(DAYS)]
        self.day_text = [moment.date().isoformat() for moment in self.day_start]
        self.offset = [timedelta(seconds=second) for second in range(SECONDS_PER_DAY)]
        self.clock_text = [f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}" for second in range(SECONDS_PER_DAY)]

    def moment(self, day: int, second: int) -> datetime:
        return self.day_start[day] + self.offset[second]

    def text(self, day: int, second: int) -> str:
        return f"{self.day_text[day]} {self.clock_text[second]}"


def ledger_rows(community: Community, source: str = "synthetic") -> list[LocatedRow]:
    """The community's scoring actions, as the ingest writer takes them.

    Source keys name the forum fact (`like_received:<post_action id>`), as an exporter from
    the forum would, so re-exporting the same forum is idempotent.
    """
    clock = Clock()
    rows: list[LocatedRow] = []
    add = rows.append
    lines = count(1)
    day_start, offset = clock.day_start, clock.offset

    def emit(kind: str, facts: Facts, quantities: array | None = None, users: array | None = None) -> None:
        # The hot loop of the generator: locals only, no calls but the row constructors.
        for index, user, day, second, quantity in zip(count(1), users or facts.user, facts.day, facts.second, quantities or repeat(1)):
            if quantity > 0:
                moment = day_start[day] + offset[second]
                add(LocatedRow(source, next(lines), ActionRow(f"{kind}:{index}", user, kind, moment, quantity, "{}")))

    c = community
    # Millions of new tuples would set off the cyclic collector over and over (each pass
    # scanning every row made so far); rows hold no cycles, so it can rest meanwhile.
    collecting = gc.isenabled()
    gc.disable()
    try:
        emit("day_visited", c.visits)
        emit("posts_read", c.visits, c.posts_read)
        emit("time_read", c.visits, c.time_read)
        emit("topic_created", c.topics)
        emit("post_created", c.posts)
        emit("like_given", c.likes)
        emit("like_received", c.likes, users=array("q", [c.posts.user[post - 1] for post in c.like_post]))
        emit("solution_accepted", c.solutions)
        emit("flag_agreed", c.flags)
        emit("user_invited", c.invites, c.invite_redemptions)
    finally:
        if collecting:
            gc.enable()
    return rows


def more_rows(community: Community, number: int, *, day: int, prefix: str = "extra") -> list[LocatedRow]:
    """`number` new actions on `day` by existing users (an incremental ingest), deterministic."""
    rng = random.Random(community.seed + number + day)
    clock = Clock()
    joined = bisect_right(community.join_day, day)
    rows = []
    for index in range(number):
        kind = ACTION_TYPES[index % len(ACTION_TYPES)]
        user = rng.randrange(1, joined + 1)
        quantity = rng.randrange(5, 200) if kind in ("posts_read", "time_read") else 1
        rows.append(
            LocatedRow(
                prefix,
                index + 1,
                ActionRow(f"{prefix}:{kind}:{index + 1}", user, kind, clock.moment(day, rng.randrange(SECONDS_PER_DAY)), quantity, "{}"),
            )
        )
    return rows
