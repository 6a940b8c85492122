"""The compensation side's speed: a plan for every user of the benchmark's forum, and the
push's own overhead per event beyond the forum's answer.

The plan runs on the ledger the import measurement filled (bench/discourse_import.py), once
it holds the forum's score events and the SailPoint change (likes 3 to 6, posts 6 to 3, half
way through the history), so that most users need a compensation. The push posts the first
events of that plan to the stand-in forum of the tests (tests/discourse_standin.py, no rate
limit) over a database of its own, with the ledger's own journal.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime

import psycopg

from bench import scales
from bench.discourse_import import LEDGER
from bench.measurements import Result, timed
from ledger import Ledger
from ledger.discourse.forum import PostgresForum
from ledger.discourse.http import API_KEY_VARIABLE, API_USERNAME_VARIABLE, DiscourseClient
from ledger.discourse.journal import LedgerJournal
from ledger.discourse.plan import Plan, make_plan
from ledger.discourse.push import CompensationJournal, MemoryJournal, PlannedEvent, push
from ledger.discourse.scorables import detect_shape
from ledger.discourse.score_events import read_score_events
from ledger.discourse.settings import SettingChange, defaults, history
from ledger.domain import Adjustment

# The SailPoint community's change, dated half way through the benchmark's history.
CHANGE_AT = datetime(2023, 1, 1, 9)
CHANGES = [("like_received_score_value", "3", "6"), ("post_created_score_value", "6", "3")]
STANDIN_KEY = "bench-standin-key"
STANDIN_USERNAME = "system"


def sailpoint_history() -> list:
    """The plugin's defaults with likes at 3 and posts at 6, changed to 6 and 3 on CHANGE_AT."""
    now = defaults()
    for name, _, after in CHANGES:
        now = now.with_setting(name, after)
    return history(now, [SettingChange(name, before, after, CHANGE_AT, "bench", None) for name, before, after in CHANGES])


def prepare_ledger(forum_url: str, ledger_url: str) -> None:
    """Give the imported ledger the forum's score events and the point-value history, and
    recalculate it (untimed: the import and recalc have rows of their own)."""
    book = Ledger.open(ledger_url, LEDGER)
    try:
        with PostgresForum(forum_url) as forum:
            events = read_score_events(forum)
        book.record_adjustments([Adjustment(**event.adjustment_fields()) for event in events if not event.is_ledgers_own])
        book.record_schedule(sailpoint_history(), retroactive=True)
        book.recalc()
    finally:
        book.close()


def measure_plan(forum_url: str, ledger_url: str, as_of: date, actions: int) -> tuple[Result, Plan]:
    """`discourse plan`'s work from the databases: connect, detect the forum's shape, compare
    every user's forum total after an all-time recalculation with the ledger's."""
    book = Ledger.open(ledger_url, LEDGER)
    try:

        def plan_it() -> Plan:
            with PostgresForum(forum_url) as forum:
                return make_plan(book, forum, detect_shape(forum), as_of=as_of)

        seconds, plan = timed(plan_it)
    finally:
        book.close()
    assert isinstance(plan, Plan)
    return Result(
        f"discourse plan for {plan.users_compared:,} users (from the databases)",
        "postgresql",
        actions,
        seconds,
        "s",
        scales.DISCOURSE_PLAN_S,
        note=f"{len(plan.rows):,} users move, {plan.total:+,} points; the ledger and the forum on the same server",
    ), plan


@contextmanager
def standin_forum(database_url: str) -> Iterator[str]:
    """The tests' stand-in forum over the (empty) database at `database_url`, with its
    credentials in the environment for the client; yields its URL."""
    from tests.discourse_standin import StandIn  # the bench runs from the clone's root

    saved = {name: os.environ.get(name) for name in (API_KEY_VARIABLE, API_USERNAME_VARIABLE)}
    os.environ[API_KEY_VARIABLE], os.environ[API_USERNAME_VARIABLE] = STANDIN_KEY, STANDIN_USERNAME
    try:
        with StandIn(database_url, api_key=STANDIN_KEY, username=STANDIN_USERNAME) as site:
            yield site.url
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def own_time_per_event(site_url: str, events: list[PlannedEvent], journal: CompensationJournal) -> tuple[float, float]:
    """Push `events` with `journal`; (seconds of the push's own per event, seconds the
    forum's answers took per event as the client saw them)."""
    client = DiscourseClient(site_url, rate_per_minute=None)
    answers: list[float] = []
    send: Callable = client.request

    def answered(*args, **options):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return send(*args, **options)
        finally:
            answers.append(time.perf_counter() - started)

    client.request = answered  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        report = push(events, journal, client)
        elapsed = time.perf_counter() - started
    finally:
        client.close()
    if len(report.posted) != len(events):
        raise RuntimeError(f"the push posted {len(report.posted)} of {len(events)} events")
    return (elapsed - sum(answers)) / len(events), sum(answers) / len(events)


def measure_push(
    site_url: str, standin_database: str, ledger_url: str, ledger_name: str, backend: str, events: list[PlannedEvent]
) -> Result:
    """The push's own time per event with the ledger's journal, beyond the forum's answers;
    the same events pushed with an in-memory journal first, for comparison."""
    memory_own, _ = own_time_per_event(site_url, events, MemoryJournal())
    _clear(standin_database)
    book = Ledger.open(ledger_url, ledger_name)
    try:
        own, answer = own_time_per_event(site_url, events, LedgerJournal(book))
    finally:
        book.close()
    _clear(standin_database)
    return Result(
        "discourse push: own time per event beyond the forum's answer",
        backend,
        len(events),
        own * 1000,
        "ms",
        scales.DISCOURSE_PUSH_OWN_MS,
        note=f"{len(events):,} events to the stand-in, no rate limit; the forum's answer {answer * 1000:.2f} ms per event; "
        f"with an in-memory journal instead of the ledger's: {memory_own * 1000:.2f} ms",
    )


def _clear(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE gamification_score_events RESTART IDENTITY")
