"""The Discourse admin API client: credentials, rate limit, 429 handling, retries, and the
endpoints, first against scripted answers (httpx.MockTransport, a fake clock), then against
the stand-in forum over PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime

import httpx
import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.discourse.http import (
    Credentials,
    DiscourseClient,
    ForumUnavailable,
    MissingCredentials,
    OutcomeUnknown,
    PermanentFailure,
    QueryFailed,
    RateLimitTooLong,
    RetryPolicy,
    SlidingWindowLimiter,
)
from tests.discourse_standin import StandIn
from tests.standin_fixtures import API_KEY, API_USERNAME, _forum_database_once, credentials, forum_database, standin  # noqa: F401

EVENT = {"id": 7, "user_id": 3, "date": "2025-01-02", "points": 5, "description": "x", "created_at": None, "updated_at": None}


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(answers: list, clock: FakeClock, **options) -> tuple[DiscourseClient, list[httpx.Request]]:
    """A client whose requests get `answers` in turn (a Response, or an exception to raise)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = DiscourseClient("https://forum.example", transport=httpx.MockTransport(handler), clock=clock, sleep=clock.sleep, **options)
    return client, seen


def limited_json(wait: int, header: bool = True) -> httpx.Response:
    body = {"errors": ["slow down"], "error_type": "rate_limit", "extras": {"wait_seconds": wait, "time_left": f"{wait} seconds"}}
    return httpx.Response(429, json=body, headers={"Retry-After": str(wait)} if header else {})


# -- credentials ---------------------------------------------------------------------------------


def test_credentials_come_only_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISCOURSE_API_KEY", raising=False)
    monkeypatch.setenv("DISCOURSE_API_USERNAME", "admin")
    with pytest.raises(MissingCredentials, match="DISCOURSE_API_KEY") as caught:
        DiscourseClient("https://forum.example")
    assert "DISCOURSE_API_USERNAME" not in str(caught.value)
    monkeypatch.setenv("DISCOURSE_API_KEY", "  ")
    with pytest.raises(MissingCredentials):
        Credentials.from_environment()


def test_the_key_is_sent_as_headers_and_shown_nowhere(credentials: None) -> None:  # noqa: F811
    clock = FakeClock()
    client, seen = scripted([httpx.Response(403, json={"errors": ["You are not permitted"], "error_type": "invalid_access"})], clock)
    with pytest.raises(PermanentFailure) as caught:
        client.score_events(user_id=1)
    assert seen[0].headers["Api-Key"] == API_KEY
    assert seen[0].headers["Api-Username"] == API_USERNAME
    assert API_KEY not in str(caught.value)
    assert API_KEY not in repr(Credentials.from_environment())
    assert caught.value.status == 403


# -- the rate limiter ----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(limit=st.integers(1, 6), window=st.floats(0.5, 5), gaps=st.lists(st.floats(0, 3), min_size=1, max_size=40))
def test_no_window_holds_more_than_the_limit(limit: int, window: float, gaps: list[float]) -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(limit, window, clock=clock, sleep=clock.sleep)
    starts = []
    for gap in gaps:
        clock.now += gap
        limiter.acquire()
        starts.append(clock.now)
    for i, start in enumerate(starts):
        assert sum(1 for other in starts[i:] if other - start < window - 1e-9) <= limit
    # It waits only when it must: `limit` acquisitions or fewer wait for nothing.
    if len(gaps) <= limit:
        assert clock.sleeps == []


def test_the_client_spaces_requests_to_its_rate(credentials: None) -> None:  # noqa: F811
    clock = FakeClock()
    client, seen = scripted([httpx.Response(200, json={"events": []}) for _ in range(12)], clock, rate_per_minute=5)
    times = []
    for _ in range(12):
        client.score_events(user_id=1)
        times.append(clock.now)
    assert len(seen) == 12
    assert all(sum(1 for t in times[i:] if t - start < 60) <= 5 for i, start in enumerate(times))
    assert times[-1] >= 120  # 12 requests at 5 a minute: the 11th starts two windows later


# -- 429 -----------------------------------------------------------------------------------------


def test_429_waits_for_retry_after(credentials: None) -> None:  # noqa: F811
    clock = FakeClock()
    client, seen = scripted([limited_json(7), httpx.Response(200, json={"events": [EVENT]})], clock, rate_per_minute=None)
    assert [e.id for e in client.score_events(user_id=3)] == [7]
    assert clock.sleeps == [7]
    assert client.rate_limited == 1


def test_429_without_retry_after_waits_for_extras_wait_seconds(credentials: None) -> None:  # noqa: F811
    clock = FakeClock()
    client, _ = scripted([limited_json(13, header=False), httpx.Response(200, json={"events": []})], clock, rate_per_minute=None)
    client.score_events(user_id=3)
    assert clock.sleeps == [13]


def test_429_in_plain_text_backs_off_exponentially(credentials: None) -> None:  # noqa: F811
    clock = FakeClock()
    text = httpx.Response(429, text="Slow down, too many requests from this IP address.")
    answers = [text, httpx.Response(429, text="Slow down"), httpx.Response(429, text="Slow down"), httpx.Response(200, json={"events": []})]
    client, _ = scripted(answers, clock, rate_per_minute=None, retry=RetryPolicy(backoff=2))
    client.score_events(user_id=3)
    assert clock.sleeps == [2, 4, 8]


def test_429_retry_after_as_an_http_date(credentials: None) -> None:  # noqa: F811
    clock = FakeClock()
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    client, _ = scripted(
        [httpx.Response(429, text="later", headers={"Retry-After": when}), httpx.Response(200, json={"events": []})],
        clock,
        rate_per_minute=None,
    )
    client.score_events(user_id=3)
    assert 27 <= clock.sleeps[0] <= 31


def test_a_wait_longer_than_allowed_is_reported_not_slept(credentials: None) -> None:  # noqa: F811
    clock = FakeClock()
    client, _ = scripted([limited_json(86_000)], clock, rate_per_minute=None)
    with pytest.raises(RateLimitTooLong) as caught:
        client.recalculate_scores(date(2025, 1, 1))
    assert caught.value.wait_seconds == 86_000
    assert clock.sleeps == []


# -- transient and permanent failures -------------------------------------------------------------


def test_5xx_and_connection_errors_are_retried_with_backoff(credentials: None) -> None:  # noqa: F811
    clock = FakeClock()
    answers = [
        httpx.Response(502, text="bad gateway"),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.Response(200, json={"events": []}),
    ]
    client, seen = scripted(answers, clock, rate_per_minute=None, retry=RetryPolicy(backoff=1))
    assert client.score_events(user_id=1) == []
    assert len(seen) == 4
    assert clock.sleeps == [1, 2, 4]


def test_transient_failures_outlasting_the_retries(credentials: None) -> None:  # noqa: F811
    clock = FakeClock()
    client, seen = scripted(
        [httpx.Response(503, text="down") for _ in range(3)], clock, rate_per_minute=None, retry=RetryPolicy(attempts=3)
    )
    with pytest.raises(ForumUnavailable, match="3 tries"):
        client.score_events(user_id=1)
    assert len(seen) == 3


def test_4xx_is_permanent_and_not_retried(credentials: None) -> None:  # noqa: F811
    clock = FakeClock()
    client, seen = scripted(
        [httpx.Response(404, json={"errors": ["The requested URL or resource could not be found."]})], clock, rate_per_minute=None
    )
    with pytest.raises(PermanentFailure, match="404: The requested URL") as caught:
        client.update_score_event(99, 3)
    assert caught.value.status == 404
    assert len(seen) == 1


def test_a_post_whose_answer_is_lost_is_not_repeated(credentials: None) -> None:  # noqa: F811
    clock = FakeClock()
    client, seen = scripted([httpx.Response(500, text="oops")], clock, rate_per_minute=None)
    with pytest.raises(OutcomeUnknown):
        client.create_score_event(3, date(2025, 1, 2), 5, "d")
    client, seen = scripted([httpx.RemoteProtocolError("Server disconnected")], clock, rate_per_minute=None)
    with pytest.raises(OutcomeUnknown):
        client.create_score_event(3, date(2025, 1, 2), 5, "d")
    assert len(seen) == 1


def test_a_post_that_never_connected_or_was_rate_limited_is_retried(credentials: None) -> None:  # noqa: F811
    clock = FakeClock()
    client, seen = scripted([httpx.ConnectError("refused"), limited_json(2), httpx.Response(200, json=EVENT)], clock, rate_per_minute=None)
    assert client.create_score_event(3, date(2025, 1, 2), 5, "d").id == 7
    assert len(seen) == 3
    assert dict(httpx.QueryParams(seen[-1].content.decode())) == {"user_id": "3", "date": "2025-01-02", "points": "5", "description": "d"}


def test_bad_event_values_are_refused_before_sending(credentials: None) -> None:  # noqa: F811
    clock = FakeClock()
    client, seen = scripted([], clock)
    for user_id, on, points in [("3", date(2025, 1, 1), 1), (3, "2025-01-01", 1), (3, date(2025, 1, 1), 1.5), (3, date(2025, 1, 1), 2**31)]:
        with pytest.raises(PermanentFailure):
            client.create_score_event(user_id, on, points)  # type: ignore[arg-type]
    assert seen == []


def test_data_explorer_params_are_a_json_string_of_strings(credentials: None) -> None:  # noqa: F811
    clock = FakeClock()
    client, seen = scripted(
        [httpx.Response(200, json={"success": True, "columns": ["key", "n"], "rows": [[1, 2]]})], clock, rate_per_minute=None
    )
    result = client.run_query(4, {"after": 10, "since": date(2025, 1, 1), "flag": True}, limit=500)
    form = dict(httpx.QueryParams(seen[0].content.decode()))
    assert seen[0].url.path == "/admin/plugins/explorer/queries/4/run"
    assert json.loads(form["params"]) == {"after": "10", "since": "2025-01-01", "flag": "true"}
    assert form["limit"] == "500"
    assert result.dicts() == [{"key": 1, "n": 2}]
    with pytest.raises(PermanentFailure):
        client.run_query(4, limit=10_001)


# -- against the stand-in -----------------------------------------------------------------------


def test_score_events_round_trip(standin: StandIn) -> None:  # noqa: F811
    client = DiscourseClient(standin.url, rate_per_minute=None)
    created = client.create_score_event(5, date(2025, 3, 1), 12, "welcome")
    assert created.points == 12 and created.user_id == 5
    client.update_score_event(created.id, 0)
    assert [(e.points, e.description) for e in client.score_events(event_id=created.id)] == [(0, "welcome")]
    assert client.score_events(user_id=5, on=date(2025, 3, 2)) == []


def test_lookups_answer_at_most_100_events(standin: StandIn) -> None:  # noqa: F811
    client = DiscourseClient(standin.url, rate_per_minute=None)
    with psycopg.connect(standin.database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO gamification_score_events (user_id, date, points, created_at, updated_at) SELECT 9, '2025-01-01', g, now(), now() FROM generate_series(1, 130) g"
        )
    assert len(client.score_events(user_id=9, on=date(2025, 1, 1))) == 100


def test_wrong_credentials_are_a_permanent_failure(standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("DISCOURSE_API_KEY", "not-the-key")
    client = DiscourseClient(standin.url, rate_per_minute=None)
    with pytest.raises(PermanentFailure, match="403"):
        client.score_events(user_id=1)
    assert len(standin.recorded()) == 1


@pytest.mark.parametrize("kind", ["429_json", "429_json_bare", "429_text", "429_text_bare"])
def test_both_429_shapes_from_the_standin(standin: StandIn, kind: str) -> None:  # noqa: F811
    standin.add_fault(kind, 1, 2)
    client = DiscourseClient(standin.url, rate_per_minute=None, retry=RetryPolicy(backoff=0.2))
    assert client.score_events(user_id=1) == []
    calls = standin.recorded()
    assert [c.status for c in calls] == [429, 429, 200]
    expected_wait = 0.2 if kind == "429_text_bare" else 1.0
    assert calls[1].at - calls[0].at >= expected_wait * 0.95


def test_the_admin_rate_limit_is_honoured(forum_database, credentials: None) -> None:  # noqa: F811
    with StandIn(forum_database.url, api_key=API_KEY, username=API_USERNAME, admin_limit=(3, 1.0)) as server:
        client = DiscourseClient(server.url, rate_per_minute=None)
        for _ in range(5):
            client.score_events(user_id=1)
        statuses = [c.status for c in server.recorded()]
    assert statuses.count(200) == 5
    assert 429 in statuses


def test_the_ip_limit_answers_plain_text_and_is_honoured(forum_database, credentials: None) -> None:  # noqa: F811
    with StandIn(forum_database.url, api_key=API_KEY, username=API_USERNAME, ip_limit=(2, 1.0)) as server:
        client = DiscourseClient(server.url, rate_per_minute=None)
        for _ in range(3):
            client.score_events(user_id=1)
        statuses = [c.status for c in server.recorded()]
    assert statuses == [200, 200, 429, 200]


def test_a_500_on_a_read_is_retried(standin: StandIn) -> None:  # noqa: F811
    standin.add_fault("error500", 1, 2)
    client = DiscourseClient(standin.url, rate_per_minute=None, retry=RetryPolicy(backoff=0.01))
    assert client.score_events(user_id=1) == []
    assert [c.status for c in standin.recorded()] == [500, 500, 200]


def test_a_slow_answer_past_the_timeout_is_retried(standin: StandIn) -> None:  # noqa: F811
    standin.add_fault("slow", 1, seconds=0.6)
    client = DiscourseClient(standin.url, rate_per_minute=None, timeout=0.3, retry=RetryPolicy(backoff=0.01))
    assert client.score_events(user_id=1) == []
    time.sleep(0.5)  # the stand-in records the slow request when it has answered it
    assert [c.status for c in standin.recorded()] == [200, 200]


def test_a_dropped_answer_after_the_forum_stored_the_event(standin: StandIn) -> None:  # noqa: F811
    standin.add_fault("drop_after", 1, method="POST")
    client = DiscourseClient(standin.url, rate_per_minute=None)
    with pytest.raises(OutcomeUnknown):
        client.create_score_event(4, date(2025, 2, 2), 3, "lost answer")
    assert [(e["user_id"], e["points"]) for e in standin.events()] == [(4, 3)]


def test_recalculation_five_a_day_with_remaining(forum_database, credentials: None) -> None:  # noqa: F811
    seen: list[date] = []

    def recalculate(conn: psycopg.Connection, since: date) -> None:
        seen.append(since)

    with StandIn(forum_database.url, api_key=API_KEY, username=API_USERNAME, recalculate=recalculate) as server:
        client = DiscourseClient(server.url, rate_per_minute=None)
        assert client.recalculations_remaining() == 5
        assert client.recalculate_scores(date(2025, 1, 1)).remaining == 4
        # A refused date still uses one, as the plugin counts before reading the date.
        with pytest.raises(PermanentFailure, match="400"):
            client.request("PUT", "/admin/plugins/gamification/recalculate-scores.json", data={"from_date": "not a date"})
        assert client.recalculate_scores(date(2025, 1, 2)).remaining == 2
        client.recalculate_scores(date(2025, 1, 3))
        client.recalculate_scores(date(2025, 1, 4))
        with pytest.raises(RateLimitTooLong) as caught:
            client.recalculate_scores(date(2025, 1, 5))
    assert seen == [date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3), date(2025, 1, 4)]
    assert caught.value.wait_seconds > 80_000


def test_default_recalculation_sums_score_events(standin: StandIn) -> None:  # noqa: F811
    client = DiscourseClient(standin.url, rate_per_minute=None)
    client.create_score_event(1, date(2025, 1, 1), 4)
    client.create_score_event(1, date(2025, 1, 1), 6)
    client.create_score_event(2, date(2024, 12, 31), 9)
    client.recalculate_scores(date(2025, 1, 1))
    with psycopg.connect(standin.database_url) as conn:
        assert conn.execute("SELECT user_id, date, score FROM gamification_scores ORDER BY user_id").fetchall() == [
            (1, date(2025, 1, 1), 10)
        ]


def test_staff_log_pages_newest_first(standin: StandIn) -> None:  # noqa: F811
    with psycopg.connect(standin.database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO users (id, username) VALUES (1, 'admin')")
        conn.execute(
            "INSERT INTO user_histories (action, acting_user_id, subject, previous_value, new_value, created_at, updated_at) "
            "SELECT CASE WHEN g % 10 = 0 THEN 4 ELSE 3 END, 1, CASE WHEN g % 2 = 0 THEN 'like_received_score_value' ELSE 'post_created_score_value' END, "
            "g::text, (g + 1)::text, timestamp '2025-01-01' + g * interval '1 hour', now() FROM generate_series(1, 500) g"
        )
    client = DiscourseClient(standin.url, rate_per_minute=None)
    entries = list(client.iter_staff_action_logs())
    assert len(entries) == 450  # action 4 rows are another action
    ids = [entry["id"] for entry in entries]
    assert ids == sorted(ids, reverse=True)
    assert entries[0]["acting_user"]["username"] == "admin"
    assert len(standin.recorded(path="/admin/logs")) == 3  # 200 + 200 + 50
    likes = list(client.iter_staff_action_logs(subject="like_received_score_value"))
    assert {entry["subject"] for entry in likes} == {"like_received_score_value"} and len(likes) == 200


def test_data_explorer_rules(standin: StandIn) -> None:  # noqa: F811
    client = DiscourseClient(standin.url, rate_per_minute=None)
    with psycopg.connect(standin.database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO users (id, username) SELECT g, 'u' || g FROM generate_series(1, 1500) g")
    standin.add_query(1, "-- [params]\n-- int :min_id = 0\nSELECT id, username FROM users WHERE id > :min_id ORDER BY id")
    standin.add_query(2, "SELECT 1 AS one;")
    standin.add_query(3, "SELECT 1 AS one -- a ; in a comment is refused too")
    standin.add_query(4, "SELECT nextval('users_id_seq') AS id")
    standin.add_query(5, "SELECT pg_sleep(1) AS slept")
    # The default cap is 1,000 rows; limit raises it, up to 10,000.
    assert len(client.run_query(1).rows) == 1000
    assert len(client.run_query(1, limit=5000).rows) == 1500
    assert client.run_query(1, {"min_id": 1495}).dicts()[0] == {"id": 1496, "username": "u1496"}
    for query_id in (2, 3):
        with pytest.raises(QueryFailed, match="semicolon"):
            client.run_query(query_id)
    with pytest.raises(QueryFailed, match="read-only"):
        client.run_query(4)
    with pytest.raises(QueryFailed, match="Not an integer"):
        client.run_query(1, {"min_id": "ten"})
    with pytest.raises(PermanentFailure, match="400"):
        client.request("POST", "/admin/plugins/explorer/queries/1/run", data={"limit": "10001"})
    with pytest.raises(PermanentFailure, match="Invalid JSON"):
        client.request("POST", "/admin/plugins/explorer/queries/1/run", data={"params": "{not json"})
    standin.statement_timeout_ms = 200
    with pytest.raises(QueryFailed, match="statement timeout"):
        client.run_query(5)
    with psycopg.connect(standin.database_url) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (1500,)


def test_data_explorer_refuses_non_string_params_as_the_plugin_does(standin: StandIn) -> None:  # noqa: F811
    standin.add_query(1, "-- [params]\n-- int :n = 1\nSELECT :n AS n")
    client = DiscourseClient(standin.url, rate_per_minute=None, retry=RetryPolicy(attempts=1))
    assert client.run_query(1, {"n": 5}).rows == [[5]]
    with pytest.raises(ForumUnavailable, match="500"):
        client.request("POST", "/admin/plugins/explorer/queries/1/run", data={"params": json.dumps({"n": 5})})
