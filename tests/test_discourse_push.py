"""The exactly-once push: every planned score event reaches the stand-in forum once, through
lost answers, 500s, 429s, permanent refusals, crashes between the journal and the forum; and
the push stays under its rate. (The push killed with SIGKILL, through the real command:
tests/test_discourse_push_killed.py.)"""

from __future__ import annotations

import io
from collections import Counter
from datetime import date, timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from ledger.discourse.http import DiscourseClient, RetryPolicy
from ledger.discourse.push import (
    LookupInconclusive,
    MemoryJournal,
    PlannedEvent,
    PushFailed,
    key_in,
    marker,
    push,
    summary,
)
from tests.discourse_standin import StandIn
from tests.standin_fixtures import API_KEY, API_USERNAME, _forum_database_once, credentials, forum_database, standin  # noqa: F401

POSTS = "/admin/plugins/gamification/score_events.json"


class BatchingMemoryJournal(MemoryJournal):
    """MemoryJournal with the batch methods, counting its writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def record_intents(self, events: list[PlannedEvent]) -> None:
        self.writes += 1
        for event in events:
            self.record_intent(event)

    def record_posted_many(self, postings: list[tuple[PlannedEvent, int]]) -> None:
        self.writes += 1
        for event, discourse_id in postings:
            self.record_posted(event, discourse_id)


JOURNALS = [MemoryJournal, BatchingMemoryJournal]


def plan(count: int, *, first_user: int = 1, tag: str = "c1") -> list[PlannedEvent]:
    return [
        PlannedEvent(f"{tag}:{user}", user, date(2025, 6, 1) + timedelta(days=user % 3), (user % 7) - 3 or 5, "Point values changed")
        for user in range(first_user, first_user + count)
    ]


def forum_keys(server: StandIn) -> Counter[str]:
    return Counter(key for event in server.events() if (key := key_in(event["description"])))


def assert_each_posted_once(server: StandIn, events: list[PlannedEvent], posted: dict[str, int]) -> None:
    on_forum = {key_in(e["description"]): e for e in server.events() if key_in(e["description"])}
    assert forum_keys(server) == Counter({event.key: 1 for event in events})
    assert posted == {key: on_forum[key]["id"] for key in posted}
    assert set(posted) == {event.key for event in events}
    for event in events:
        stored = on_forum[event.key]
        assert (stored["user_id"], stored["date"], stored["points"]) == (event.user_id, event.on, event.points)


def test_marker_round_trip() -> None:
    event = PlannedEvent("plan-2025-06:42", 42, date(2025, 6, 1), 7, "Likes 3 to 6")
    description = event.description("https://forum.example/t/123")
    assert description == "Likes 3 to 6 https://forum.example/t/123 [scoreledger:plan-2025-06:42]"
    assert key_in(description) == event.key == key_in(marker(event.key))
    assert key_in("a gift from the staff") is None and key_in(None) is None
    for bad in ("has space", "br]acket", ""):
        with pytest.raises(ValueError):
            PlannedEvent(bad, 1, date(2025, 1, 1), 1, "r")


def test_a_batching_journal_is_written_once_per_batch(standin: StandIn) -> None:  # noqa: F811
    events = plan(30)
    journal = BatchingMemoryJournal()
    push(events, journal, DiscourseClient(standin.url, rate_per_minute=None), batch=10)
    assert journal.writes == 6  # 3 batches: their intents, then their postings
    assert_each_posted_once(standin, events, dict(journal.posted()))


def test_push_posts_each_event_once_and_a_second_run_nothing(standin: StandIn) -> None:  # noqa: F811
    events = plan(30)
    journal = MemoryJournal()
    client = DiscourseClient(standin.url, rate_per_minute=None)
    report = push(events, journal, client, link="https://forum.example/t/9")
    assert len(report.posted) == 30 and report.remaining == 0
    assert_each_posted_once(standin, events, dict(journal.posted()))
    assert all("https://forum.example/t/9" in e["description"] for e in standin.events())
    before = len(standin.recorded())
    again = push(events, journal, client)
    assert again.posted == [] and again.already_posted == 30
    assert len(standin.recorded()) == before  # nothing outstanding: not even a lookup
    assert summary(again)[0] == "planned 30, already posted 30, posted now 0"


def test_dry_run_touches_nothing(standin: StandIn) -> None:  # noqa: F811
    journal = MemoryJournal()
    report = push(plan(5), journal, DiscourseClient(standin.url, rate_per_minute=None), dry_run=True)
    assert report.would_post == 5
    assert standin.recorded() == [] and journal.posted() == {} and journal.outstanding() == []


@pytest.mark.parametrize("journal_type", JOURNALS)
@pytest.mark.parametrize("kind", ["drop_after", "error500", "drop_before"])
def test_a_lost_or_failed_post_is_looked_up_before_posting_again(standin: StandIn, kind: str, journal_type: type) -> None:  # noqa: F811
    standin.add_fault(kind, 3, 7, method="POST", path=POSTS)
    events = plan(10)
    journal = journal_type()
    client = DiscourseClient(standin.url, rate_per_minute=None, retry=RetryPolicy(backoff=0.01))
    push(events, journal, client)
    assert_each_posted_once(standin, events, dict(journal.posted()))
    lookups = standin.recorded("GET", POSTS)
    assert len(lookups) == 2  # one lookup per unknown outcome, none otherwise


_examples = iter(range(10**6))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    faults=st.lists(st.tuples(st.sampled_from(["drop_after", "drop_before", "error500", "429_json_bare"]), st.integers(1, 12)), max_size=5),
    count=st.integers(1, 6),
    batch=st.integers(1, 4),
    batching=st.booleans(),
)
def test_exactly_once_whatever_the_forum_does_to_the_posts(
    standin: StandIn, faults: list[tuple[str, int]], count: int, batch: int, batching: bool
) -> None:  # noqa: F811
    tag = f"h{next(_examples)}"
    with standin._lock:
        standin.faults.clear()
    for kind, call in faults:
        standin.add_fault(kind, call, method="POST", path=POSTS, seconds=0.01)
    events = plan(count, tag=tag)
    journal = BatchingMemoryJournal() if batching else MemoryJournal()
    push(events, journal, DiscourseClient(standin.url, rate_per_minute=None, retry=RetryPolicy(backoff=0.001)), batch=batch)
    assert_each_posted_once_among(standin, events, dict(journal.posted()))


def test_an_intent_without_a_posting_finds_the_event_already_on_the_forum(standin: StandIn) -> None:  # noqa: F811
    events = plan(4)
    journal = MemoryJournal()
    client = DiscourseClient(standin.url, rate_per_minute=None)
    # A run that died after its POST reached the forum, before recording the id:
    journal.record_intent(events[1])
    stored = client.create_score_event(events[1].user_id, events[1].on, events[1].points, events[1].description())
    # ... and one that died after recording its intent, before posting:
    journal.record_intent(events[2])
    report = push(events, journal, client)
    assert report.recovered == [(events[1].key, stored.id)]
    assert sorted(key for key, _ in report.posted) == sorted([events[0].key, events[2].key, events[3].key])
    assert_each_posted_once(standin, events, dict(journal.posted()))


def test_an_intent_no_longer_planned_is_settled_not_posted(standin: StandIn) -> None:  # noqa: F811
    old = plan(2, tag="old")
    journal = MemoryJournal()
    client = DiscourseClient(standin.url, rate_per_minute=None)
    journal.record_intent(old[0])
    client.create_score_event(old[0].user_id, old[0].on, old[0].points, old[0].description())
    journal.record_intent(old[1])
    report = push(plan(3), journal, client)
    assert [key for key, _ in report.recovered] == [old[0].key]
    assert report.stale == [old[1].key]
    assert old[1].key not in forum_keys(standin)


@pytest.mark.parametrize("journal_type", JOURNALS)
def test_a_permanent_failure_stops_with_everything_recorded(standin: StandIn, journal_type: type) -> None:  # noqa: F811
    standin.add_fault("error422", 6, method="POST", path=POSTS)
    events = plan(12)
    journal = journal_type()
    client = DiscourseClient(standin.url, rate_per_minute=None)
    with pytest.raises(PushFailed, match="after 5 posted") as caught:
        push(events, journal, client, batch=4)
    assert [key for key, _ in caught.value.report.posted] == [event.key for event in events[:5]]
    assert dict(journal.posted()) == dict(caught.value.report.posted)
    # A batching journal recorded the intents of the whole batch the failure cut short.
    expected = [events[5].key] if journal_type is MemoryJournal else [event.key for event in events[5:8]]
    assert [event.key for event in journal.outstanding()] == expected
    rerun = push(events, journal, client)
    assert len(rerun.posted) == 7
    assert_each_posted_once(standin, events, dict(journal.posted()))


def test_a_crowded_day_makes_the_lookup_inconclusive_not_a_guess(standin: StandIn) -> None:  # noqa: F811
    events = plan(1)
    with psycopg.connect(standin.database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO gamification_score_events (user_id, date, points, created_at, updated_at) SELECT %s, %s, 1, now(), now() FROM generate_series(1, 100)",
            (events[0].user_id, events[0].on),
        )
    journal = MemoryJournal()
    journal.record_intent(events[0])
    with pytest.raises(PushFailed) as caught:
        push(events, journal, DiscourseClient(standin.url, rate_per_minute=None))
    assert isinstance(caught.value.__cause__, LookupInconclusive)
    assert standin.recorded("POST") == []


def test_the_push_honours_429_from_the_forum(forum_database, credentials: None) -> None:  # noqa: F811
    events = plan(8)
    with StandIn(forum_database.url, api_key=API_KEY, username=API_USERNAME, admin_limit=(4, 1.0)) as server:
        journal = MemoryJournal()
        push(events, journal, DiscourseClient(server.url, rate_per_minute=None))
        assert 429 in [r.status for r in server.recorded()]
        assert_each_posted_once(server, events, dict(journal.posted()))


def test_the_push_stays_under_its_rate_measured_at_the_forum(standin: StandIn) -> None:  # noqa: F811
    # 5 requests per 1-second window stands for 50 a minute: the same limiter, a shorter window.
    events = plan(16)
    journal = MemoryJournal()
    client = DiscourseClient(standin.url, rate_per_minute=300, window_seconds=1.0)
    push(events, journal, client)
    arrivals = [r.at for r in standin.recorded("POST", POSTS)]
    assert len(arrivals) == 16
    # Arrival at the forum lags the client's start by a varying delay (loopback, a busy host):
    # a tenth of the window allows for it; without the limiter all 16 would arrive in one.
    for i, start in enumerate(arrivals):
        assert sum(1 for other in arrivals[i:] if other - start < 1.0 - 0.1) <= 5
    assert arrivals[-1] - arrivals[0] >= 2.9
    assert_each_posted_once(standin, events, dict(journal.posted()))


def test_progress_bar_shows_the_expected_finish(standin: StandIn) -> None:  # noqa: F811
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    push(plan(3), MemoryJournal(), DiscourseClient(standin.url, rate_per_minute=None), progress=console)
    assert "3/3" in out.getvalue() and "finish" in out.getvalue()


def assert_each_posted_once_among(server: StandIn, events: list[PlannedEvent], posted: dict[str, int]) -> None:
    keys = {event.key for event in events}
    counts = Counter(key for key in (key_in(e["description"]) for e in server.events()) if key in keys)
    assert counts == Counter(dict.fromkeys(keys, 1))
    ids = {key_in(e["description"]): e["id"] for e in server.events() if key_in(e["description"]) in keys}
    assert posted == ids
