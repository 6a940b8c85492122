"""A synthetic community for `scoreledger demo`: two years of activity, a point-value change
in the middle, and what a naive "today's values" recalculation would have made of it.

Everything is derived from fixed seeds and fixed dates, and every action has a stable
source_key, so running the demo again records nothing new and prints the same thing.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ledger.api import Ledger
from ledger.audit import AuditLine
from ledger.domain import Action, Rule, ScheduleVersion
from ledger.replay import RecalcOutcome
from ledger.standings import Standing

DEMO_LEDGER = "demo"
START = date(2023, 1, 1)
CHANGE = date(2024, 1, 1)
END = date(2024, 12, 31)
TODAY_VALUES = END

LAUNCH = ScheduleVersion(
    effective_from=START,
    reason="launch",
    author="community team",
    rules={
        "posts_created": Rule(value=6),
        "likes_received": Rule(value=3),
        "solutions_accepted": Rule(value=15),
        # Reading earns a point per 20 posts read in a day; sessions under 2 posts do not count.
        "posts_read": Rule(value=1, per=20, min_quantity=2),
        "rating_received": Rule(by={"rating": {"1": 0, "2": 0, "3": 3, "4": 4, "5": 5}}),
    },
)
REWARD_QUALITY = ScheduleVersion(
    effective_from=CHANGE,
    reason="reward quality over volume",
    author="community team",
    rules={**LAUNCH.rules, "posts_created": Rule(value=3), "likes_received": Rule(value=6), "solutions_accepted": Rule(value=25)},
)
SCHEDULE = (LAUNCH, REWARD_QUALITY)


@dataclass(frozen=True)
class DemoReport:
    ledger: str
    new_actions: int
    known_actions: int
    recalc: RecalcOutcome
    top: list[Standing]
    audited_user: int | str
    audit_from: date
    audit_to: date
    audit: list[AuditLine]
    audit_window_score: int
    drift_free_total: int
    naive_total: int
    most_moved: list[tuple[int | str, int, int]]  # (user, drift-free points, naive points)


def community(users: int) -> Iterator[Action]:
    """Each user's actions, from a seed of their own: user 7's history is the same whatever
    the community's size, so a bigger demo only adds users."""
    days = (END - START).days + 1
    for user in range(1, users + 1):
        rng = random.Random(f"scoreledger-demo-{user}")
        # A few very active members, many occasional ones.
        active_days = min(days, int(rng.paretovariate(1.3) * 8))
        for index, offset in enumerate(sorted(rng.sample(range(days), active_days))):
            moment = datetime.combine(START + timedelta(days=offset), datetime.min.time()) + timedelta(minutes=rng.randrange(1440))
            yield from _day_of(user, index, moment, rng)


def _day_of(user: int, index: int, moment: datetime, rng: random.Random) -> Iterator[Action]:
    key = f"demo-{user}-{index}"
    yield Action(source_key=f"{key}-read", user_id=user, action="posts_read", occurred_at=moment, quantity=rng.randrange(1, 60))
    for kind, chance in (("posts_created", 0.5), ("likes_received", 0.8), ("solutions_accepted", 0.1)):
        for n in range(rng.randrange(4) if rng.random() < chance else 0):
            yield Action(source_key=f"{key}-{kind}-{n}", user_id=user, action=kind, occurred_at=moment + timedelta(minutes=n + 1))
    if rng.random() < 0.3:
        rating = rng.choice([2, 3, 4, 4, 5, 5])
        yield Action(
            source_key=f"{key}-rating",
            user_id=user,
            action="rating_received",
            occurred_at=moment + timedelta(minutes=9),
            attributes={"rating": rating},
        )


def run_demo(book: Ledger, users: int = 300) -> DemoReport:
    """Record the community and its schedule (again: a no-op), recalculate, and report."""
    book.init()
    book.record_schedule(SCHEDULE, retroactive=True)
    written = book.record_actions(community(users))
    outcome = book.recalc()
    top = book.leaderboard(limit=10)
    leader = top[0].user_id
    # The days around the change show the same kinds of action priced by both versions.
    audit_from, audit_to = CHANGE - timedelta(days=2), CHANGE + timedelta(days=2)
    lines = book.audit(leader, from_day=audit_from, to_day=audit_to)
    window = {row.user_id: row.points for row in book.scores(from_day=audit_from, to_day=audit_to)}
    drift_free = {row.user_id: row.points for row in book.scores()}
    naive = {row.user_id: row.points for row in book.naive_scores(TODAY_VALUES)}
    moved = sorted(drift_free, key=lambda user: (-abs(naive.get(user, 0) - drift_free[user]), user))[:5]
    return DemoReport(
        ledger=book.name,
        new_actions=written.new,
        known_actions=written.already_present,
        recalc=outcome,
        top=top,
        audited_user=leader,
        audit_from=audit_from,
        audit_to=audit_to,
        audit=lines,
        audit_window_score=window.get(leader, 0),
        drift_free_total=sum(drift_free.values()),
        naive_total=sum(naive.values()),
        most_moved=[(user, drift_free[user], naive.get(user, 0)) for user in moved],
    )
