"""`scoreledger discourse push` killed with SIGKILL at random points, then run again: each
user's compensation reaches the forum exactly once, and the ledger's compensations are the
forum's rows. The real command in a child process, its journal in the ledger (SQLite and
PostgreSQL), against the stand-in forum over a generated Discourse database.

Each trial starts from the same ledger (a copy of one prepared after the point-value change)
and a forum without our events, so every trial pushes the same plan from the start."""

from __future__ import annotations

import os
import random
import shutil
import signal
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from ledger import Ledger
from ledger.discourse import settings as forum_settings
from ledger.discourse.forum import PostgresForum
from ledger.discourse.plan import make_plan, planned_events
from ledger.discourse.push import PlannedEvent, key_in
from ledger.discourse.scorables import detect_shape
from tests import processes
from tests.discourse_forum import ForumPlan, log_setting_change
from tests.discourse_standin import SCORE_EVENTS, StandIn
from tests.standin_fixtures import API_KEY, API_USERNAME, credentials  # noqa: F401 - a fixture
from tests.test_discourse_import import Forum, make_forum
from tests.test_discourse_plan import import_everything

pytestmark = pytest.mark.slow

# 20 seeded trials in all: this many on each ledger backend (each trial starts two processes).
TRIALS = 10
# The SailPoint community's change: likes 3 -> 6 and posts 6 -> 3, dated in the past.
BEFORE = {"like_received_score_value": "3", "post_created_score_value": "6"}
CHANGED_ON = datetime(2025, 3, 1, 9)
# Each answer to a POST takes this long, so that kills land before, during and after posts.
ANSWER_SECONDS = 0.02


@pytest.fixture
def forum(credentials: None) -> Iterator[Forum]:  # noqa: F811
    yield from make_forum("G2", seed=29, plan=ForumPlan(users=60, settings=dict(BEFORE)))


def prepare(book: Ledger, forum: Forum) -> list[PlannedEvent]:
    """Import, the change logged on the forum and recorded in the ledger; the plan's events."""
    import_everything(book, forum)
    with forum.database.connect() as conn:
        log_setting_change(conn, "like_received_score_value", "3", "6", CHANGED_ON)
        log_setting_change(conn, "post_created_score_value", "6", "3", CHANGED_ON)
    with PostgresForum(forum.url) as source:
        book.record_schedule(
            forum_settings.history(forum_settings.current_values(source), forum_settings.setting_changes(source)), retroactive=True
        )
        book.recalc()
        return planned_events(make_plan(book, source, detect_shape(source)))


class LedgerCopies:
    """Copies of one prepared ledger database, one per trial (a file, or a database made
    from it as a template), removed at the end."""

    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.folder = folder
        self.made: list[str] = []

    def copy(self, number: int) -> str:
        parsed = make_url(self.url)
        if parsed.get_backend_name() == "sqlite":
            target = self.folder / f"trial-{number}.db"
            shutil.copyfile(parsed.database, target)  # type: ignore[arg-type]
            return parsed.set(database=str(target)).render_as_string(hide_password=False)
        name = f"{parsed.database}_trial_{number}"
        with psycopg.connect(self._admin(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{parsed.database}"')
        self.made.append(name)
        return parsed.set(database=name).render_as_string(hide_password=False)

    def _admin(self) -> str:
        return make_url(self.url).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)

    def remove(self) -> None:
        if not self.made:
            return
        with psycopg.connect(self._admin(), autocommit=True) as conn:
            for name in self.made:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clear_our_events(forum: Forum) -> None:
    with forum.database.connect() as conn:
        conn.execute("DELETE FROM gamification_score_events WHERE description LIKE %s", ("%[scoreledger:%",))


def push_args(site: StandIn, forum: Forum) -> list[str]:
    return ["discourse", "push", "--url", site.url, "--dsn", forum.url, "--rate", "100000"]


def posts_seen(site: StandIn) -> int:
    """Score-event POSTs the stand-in has answered so far (read without waiting)."""
    return sum(1 for request in list(site.requests) if request.method == "POST" and request.path == SCORE_EVENTS)


def run_killed(url: str, args: list[str], site: StandIn, after_posts: int, then: float) -> int:
    """Start the push, SIGKILL it `then` seconds after the forum answered `after_posts` more
    POSTs (unless it ended first); its exit code."""
    already = posts_seen(site)
    child = processes.start(url, *args)
    deadline = time.monotonic() + 120
    while child.poll() is None and posts_seen(site) - already < after_posts and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(then)
    if child.poll() is None:
        os.kill(child.pid, signal.SIGKILL)
    child.communicate(timeout=60)
    return child.returncode


def our_rows(site: StandIn, keys: set[str]) -> list[dict]:
    return [event for event in site.events() if key_in(event["description"]) in keys]


def test_a_push_killed_at_random_points_then_rerun_posts_each_users_event_once(book: Ledger, forum: Forum, tmp_path: Path) -> None:
    events = prepare(book, forum)
    assert len(events) >= 20, "the change moves enough users for kills to land mid-push"
    keys = {event.key for event in events}
    book.close()  # a template database takes no other sessions
    copies = LedgerCopies(book.engine.url.render_as_string(hide_password=False), tmp_path)
    slow = {"method": "POST", "path": SCORE_EVENTS, "seconds": ANSWER_SECONDS}
    rng = random.Random(f"kills-{make_url(copies.url).get_backend_name()}")
    killed = in_doubt = stored_unrecorded = 0
    try:
        with StandIn(forum.url, api_key=API_KEY, username=API_USERNAME, create_schema=False) as site:
            site.add_fault("slow", *range(1, 100_000), **slow)  # type: ignore[arg-type]
            for trial in range(1, TRIALS + 1):
                clear_our_events(forum)
                url = copies.copy(trial)
                # A seeded point: after some of the posts were answered, part-way through the next.
                after_posts, then = rng.randrange(len(events)), rng.uniform(0, 1.5 * ANSWER_SECONDS)
                code = run_killed(url, push_args(site, forum), site, after_posts, then)
                killed += code == -signal.SIGKILL
                cut_short = Ledger.open(url)
                try:
                    doubtful = {event.key for event in cut_short.compensation_intents().values()} - {
                        adjustment.key for adjustment in cut_short.adjustments(kind="compensation")
                    }
                finally:
                    cut_short.close()
                in_doubt += bool(doubtful)
                stored_unrecorded += sum(1 for row in our_rows(site, keys) if key_in(row["description"]) in doubtful)
                rerun = processes.run(url, *push_args(site, forum))
                assert rerun.returncode == 0, rerun.stderr
                assert_posted_once_and_recorded(site, url, events)
    finally:
        copies.remove()
    print(f"{killed} of {TRIALS} pushes killed; {in_doubt} left intents without postings, {stored_unrecorded} events stored but unrecorded")
    assert killed >= TRIALS - 1  # the trials really were cut short
    assert in_doubt >= 3 and stored_unrecorded >= 1  # the hard case was met, more than once


def assert_posted_once_and_recorded(site: StandIn, url: str, events: list[PlannedEvent]) -> None:
    """Each user's event once at the forum (counted by marker per user and day), and the
    ledger's compensations exactly the forum's rows."""
    keys = {event.key for event in events}
    rows = our_rows(site, keys)
    assert Counter((row["user_id"], row["date"]) for row in rows) == Counter({(event.user_id, event.on): 1 for event in events})
    assert Counter(key_in(row["description"]) for row in rows) == Counter(keys)
    book = Ledger.open(url)
    try:
        recorded = {a.key: (int(a.reference), a.user_id, a.on, a.points) for a in book.adjustments(kind="compensation")}  # type: ignore[arg-type]
    finally:
        book.close()
    assert recorded == {key_in(row["description"]): (row["id"], row["user_id"], row["date"], row["points"]) for row in rows}
