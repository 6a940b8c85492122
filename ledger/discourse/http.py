"""A Discourse admin API client: credentials from the environment, a client-side rate limit,
429 handling, retries of transient failures, and the endpoints scoreledger needs (score
events, recalculation, the staff action log, Data Explorer runs).

The API key and username come only from DISCOURSE_API_KEY and DISCOURSE_API_USERNAME; they
are sent as the Api-Key and Api-Username headers and appear in no argument, file, message
or log.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from ledger.errors import LedgerError

API_KEY_VARIABLE = "DISCOURSE_API_KEY"
API_USERNAME_VARIABLE = "DISCOURSE_API_USERNAME"

# Discourse's admin API allows 60 requests a minute shared by every admin key of a site.
DEFAULT_RATE_PER_MINUTE = 50
SCORE_EVENTS_PATH = "/admin/plugins/gamification/score_events.json"
RECALCULATE_PATH = "/admin/plugins/gamification/recalculate-scores.json"
GAMIFICATION_INDEX_PATH = "/admin/plugins/gamification.json"
STAFF_LOG_PATH = "/admin/logs/staff_action_logs.json"
# The legacy Data Explorer path; newest core still routes it (and also mounts
# /admin/plugins/discourse-data-explorer/...).
EXPLORER_RUN_PATH = "/admin/plugins/explorer/queries/{query_id}/run"
# Score event lookups answer at most this many rows, unordered, without paging.
SCORE_EVENTS_PAGE = 100
STAFF_LOG_PAGE = 200
EXPLORER_MAX_LIMIT = 10_000


class DiscourseError(LedgerError):
    """Base of every error talking to a Discourse forum."""


class MissingCredentials(DiscourseError):
    """DISCOURSE_API_KEY or DISCOURSE_API_USERNAME is not set."""


class PermanentFailure(DiscourseError):
    """The forum refused a request for a reason retrying cannot fix (a 4xx other than 429)."""

    def __init__(self, message: str, *, status: int | None = None, errors: list[str] | None = None) -> None:
        self.status = status
        self.errors = errors or []
        super().__init__(message)


class QueryFailed(PermanentFailure):
    """Data Explorer ran the query and reported an error (bad SQL, a timeout, a `;`...)."""


class ForumUnavailable(DiscourseError):
    """Transient failures (5xx, connection errors, timeouts) outlasted every retry."""


class OutcomeUnknown(ForumUnavailable):
    """A write was sent but its answer was lost: the forum may or may not have applied it.

    Only non-idempotent writes raise this; the caller decides how to find out (the push
    engine looks the event up by its marker before posting again).
    """


class RateLimitTooLong(DiscourseError):
    """The forum answered 429 and asked for a longer wait than the client is set to honour
    (the recalculation limit, 5 a day, answers this way)."""

    def __init__(self, message: str, *, wait_seconds: float) -> None:
        self.wait_seconds = wait_seconds
        super().__init__(message)


@dataclass(frozen=True)
class Credentials:
    """The admin API key and the username it acts as; the key never shows in a repr."""

    username: str
    api_key: str = field(repr=False)

    @classmethod
    def from_environment(cls) -> Credentials:
        """Read DISCOURSE_API_KEY and DISCOURSE_API_USERNAME; MissingCredentials if either is unset."""
        key = os.environ.get(API_KEY_VARIABLE, "").strip()
        username = os.environ.get(API_USERNAME_VARIABLE, "").strip()
        missing = [name for name, value in ((API_KEY_VARIABLE, key), (API_USERNAME_VARIABLE, username)) if not value]
        if missing:
            raise MissingCredentials(
                f"set {' and '.join(missing)} in the environment (an all-scopes admin API key and its username); "
                "they are never read from arguments or files"
            )
        return cls(username=username, api_key=key)

    def headers(self) -> dict[str, str]:
        return {"Api-Key": self.api_key, "Api-Username": self.username}


class SlidingWindowLimiter:
    """At most `limit` acquisitions in any `window` seconds (a rolling window, as Discourse's
    own limiter counts), waiting as long as needed; safe to share between threads."""

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._clock = clock
        self.sleep = sleep
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> float:
        """Wait until one more request fits the window, count it, and return the time waited."""
        waited = 0.0
        with self._lock:
            while True:
                now = self._clock()
                while self._starts and now - self._starts[0] >= self.window:
                    self._starts.popleft()
                if len(self._starts) < self.limit:
                    self._starts.append(now)
                    self.waited += waited
                    return waited
                pause = self._starts[0] + self.window - now
                if pause > 0:
                    self.sleep(pause)
                    waited += pause
                # The oldest request has left the window (compared directly, rounding could
                # keep it a hair inside for ever).
                self._starts.popleft()


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying: `attempts` tries for transient failures with exponential
    backoff from `backoff` seconds up to `backoff_cap`; 429 waits up to `max_wait` seconds
    each, at most `rate_limited_attempts` times in a row."""

    attempts: int = 6
    backoff: float = 1.0
    backoff_cap: float = 60.0
    max_wait: float = 300.0
    rate_limited_attempts: int = 20

    def delay(self, failures: int) -> float:
        """The backoff before try number `failures + 1`."""
        return min(self.backoff_cap, self.backoff * (2 ** max(0, failures - 1)))


@dataclass(frozen=True)
class ScoreEvent:
    """A row of gamification_score_events as the API shows it."""

    id: int
    user_id: int
    date: date
    points: int
    description: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScoreEvent:
        return cls(
            id=int(data["id"]),
            user_id=int(data["user_id"]),
            date=date.fromisoformat(str(data["date"])[:10]),
            points=int(data["points"]),
            description=data.get("description"),
        )


@dataclass(frozen=True)
class QueryResult:
    """One Data Explorer run: column names and rows (lists, in column order)."""

    columns: list[str]
    rows: list[list[Any]]
    duration_ms: float | None = None

    def dicts(self) -> list[dict[str, Any]]:
        """The rows as dicts keyed by column name."""
        columns = self.columns
        return [dict(zip(columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class Recalculation:
    """A recalculation the forum accepted (it runs asynchronously there), and how many of the
    site's 5 a day remain, when the forum said."""

    from_date: date
    remaining: int | None


class DiscourseClient:
    """The admin API of one forum. Every request waits for room in the rate window, carries
    the credentials as headers, honours 429 and retries transient failures."""

    def __init__(
        self,
        base_url: str,
        *,
        rate_per_minute: float | None = DEFAULT_RATE_PER_MINUTE,
        window_seconds: float = 60.0,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        credentials = Credentials.from_environment()
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.limiter: SlidingWindowLimiter | None = None
        if rate_per_minute is not None:
            per_window = max(1, int(rate_per_minute * window_seconds / 60.0))
            self.limiter = SlidingWindowLimiter(per_window, window_seconds, clock=clock, sleep=sleep)
        self.requests_sent = 0
        self.rate_limited = 0
        self.retried = 0
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={**credentials.headers(), "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DiscourseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        idempotent: bool = True,
    ) -> Any:
        """Send one API request and return its parsed JSON body.

        Transient failures are retried with backoff; a non-idempotent request is retried only
        when it cannot have reached the application (the connection was refused, or the
        rate limiter answered 429), otherwise OutcomeUnknown is raised.
        """
        failures = 0
        rate_limited = 0
        what = f"{method} {path}"
        while True:
            if self.limiter is not None:
                self.limiter.acquire()
            self.requests_sent += 1
            try:
                response = self._http.request(method, path, params=_clean(params), data=_clean(data))
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failures += 1
                self._give_up_after(failures, what, f"cannot connect ({type(exc).__name__})")
                continue
            except httpx.TransportError as exc:
                if not idempotent:
                    raise OutcomeUnknown(f"{what}: the answer was lost ({type(exc).__name__}); the forum may have applied it") from None
                failures += 1
                self._give_up_after(failures, what, f"no answer ({type(exc).__name__})")
                continue
            status = response.status_code
            if status == 429:
                rate_limited += 1
                self.rate_limited += 1
                wait = _wait_from_429(response)
                if wait is None:
                    wait = self.retry.delay(rate_limited)
                if wait > self.retry.max_wait:
                    raise RateLimitTooLong(f"{what}: the forum asks to wait {wait:.0f} s (rate limited)", wait_seconds=wait)
                if rate_limited > self.retry.rate_limited_attempts:
                    raise ForumUnavailable(f"{what}: still rate limited after {rate_limited - 1} waits")
                self.sleep(wait)
                continue
            if status >= 500:
                if not idempotent:
                    raise OutcomeUnknown(f"{what}: HTTP {status}; the forum may have applied it")
                failures += 1
                self._give_up_after(failures, what, f"HTTP {status}")
                continue
            if status >= 400:
                errors = _errors_of(response)
                detail = f": {errors[0]}" if errors else ""
                if status == 403:
                    detail = detail or ": the API key or username was refused, or the key lacks admin scope"
                raise PermanentFailure(f"{what}: HTTP {status}{detail}", status=status, errors=errors)
            if status >= 300:
                raise PermanentFailure(f"{what}: HTTP {status} (redirected; check the forum URL)", status=status)
            try:
                return response.json()
            except ValueError:
                raise PermanentFailure(f"{what}: HTTP {status} but the answer is not JSON", status=status) from None

    def _give_up_after(self, failures: int, what: str, reason: str) -> None:
        if failures >= self.retry.attempts:
            raise ForumUnavailable(f"{what}: {reason}, {failures} tries")
        self.retried += 1
        self.sleep(self.retry.delay(failures))

    # -- score events ------------------------------------------------------------------------

    def create_score_event(self, user_id: int, on: date, points: int, description: str | None = None) -> ScoreEvent:
        """POST a score event; the event the forum stored, with its id. Not retried once sent
        (OutcomeUnknown when its answer is lost)."""
        _check_event(user_id, on, points)
        data: dict[str, Any] = {"user_id": user_id, "date": on.isoformat(), "points": points}
        if description is not None:
            data["description"] = description
        body = self.request("POST", SCORE_EVENTS_PATH, data=data, idempotent=False)
        return ScoreEvent.from_json(body)

    def score_events(self, *, user_id: int | None = None, on: date | None = None, event_id: int | None = None) -> list[ScoreEvent]:
        """GET score events matching every filter given (exact date); the forum answers at
        most 100 rows, in no order, with no paging."""
        params = {"user_id": user_id, "date": on.isoformat() if on else None, "id": event_id}
        body = self.request("GET", SCORE_EVENTS_PATH, params=params)
        return [ScoreEvent.from_json(event) for event in body.get("events", [])]

    def update_score_event(self, event_id: int, points: int, description: str | None = None) -> None:
        """PUT new points (and description) on an event; the only change the API allows."""
        data: dict[str, Any] = {"id": event_id, "points": int(points)}
        if description is not None:
            data["description"] = description
        self.request("PUT", SCORE_EVENTS_PATH, data=data)

    # -- recalculation -----------------------------------------------------------------------

    def recalculate_scores(self, from_date: date) -> Recalculation:
        """Ask the forum to recalculate every day from `from_date` to today (it allows 5 a
        day, site-wide; when none remain this raises RateLimitTooLong with the wait)."""
        if from_date > datetime.now(UTC).date():
            raise PermanentFailure(f"cannot recalculate from {from_date}: it is after today")
        self.request("PUT", RECALCULATE_PATH, data={"from_date": from_date.isoformat()}, idempotent=False)
        return Recalculation(from_date, self.recalculations_remaining())

    def recalculations_remaining(self) -> int | None:
        """How many manual recalculations the forum still allows in the rolling day."""
        body = self.request("GET", GAMIFICATION_INDEX_PATH)
        value = body.get("gamification_recalculate_scores_remaining") if isinstance(body, dict) else None
        return int(value) if value is not None else None

    # -- staff action log --------------------------------------------------------------------

    def staff_action_logs(
        self, *, action_name: str | None = None, subject: str | None = None, page: int = 0, limit: int = STAFF_LOG_PAGE
    ) -> list[dict[str, Any]]:
        """One page of the staff action log, newest first."""
        params = {"action_name": action_name, "subject": subject, "page": page, "limit": min(limit, STAFF_LOG_PAGE)}
        body = self.request("GET", STAFF_LOG_PATH, params=params)
        return list(body.get("staff_action_logs", []))

    def iter_staff_action_logs(
        self, *, action_name: str | None = "change_site_setting", subject: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every entry of the staff action log matching the filters, newest first. Pages are
        by offset there, so an entry logged meanwhile can repeat one: repeats (same id, or
        same content when ids are absent) are skipped."""
        seen: set[Any] = set()
        page = 0
        while True:
            entries = self.staff_action_logs(action_name=action_name, subject=subject, page=page)
            for entry in entries:
                identity = entry.get("id") or json.dumps(entry, sort_keys=True, default=str)
                if identity in seen:
                    continue
                seen.add(identity)
                yield entry
            if len(entries) < STAFF_LOG_PAGE:
                return
            page += 1

    # -- Data Explorer -----------------------------------------------------------------------

    def run_query(self, query_id: int, params: Mapping[str, Any] | None = None, *, limit: int | None = None) -> QueryResult:
        """Run a saved Data Explorer query; `params` are sent as Data Explorer wants them (a
        JSON object of string values in the form field `params`), `limit` caps the rows
        (Data Explorer's default 1,000, at most 10,000)."""
        if limit is not None and not 1 <= limit <= EXPLORER_MAX_LIMIT:
            raise PermanentFailure(f"a Data Explorer limit must be between 1 and {EXPLORER_MAX_LIMIT}, not {limit}")
        data: dict[str, Any] = {"params": json.dumps({name: _as_param(value) for name, value in (params or {}).items()})}
        if limit is not None:
            data["limit"] = limit
        path = EXPLORER_RUN_PATH.format(query_id=int(query_id))
        try:
            body = self.request("POST", path, data=data)
        except PermanentFailure as exc:
            if exc.status == 422:
                raise QueryFailed(
                    f"Data Explorer query {query_id} failed: {'; '.join(exc.errors) or exc}", status=422, errors=exc.errors
                ) from None
            raise
        if not body.get("success", True):
            errors = [str(e) for e in body.get("errors") or []]
            raise QueryFailed(f"Data Explorer query {query_id} failed: {'; '.join(errors)}", errors=errors)
        return QueryResult(columns=list(body.get("columns") or []), rows=list(body.get("rows") or []), duration_ms=body.get("duration"))


def _clean(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {name: value for name, value in values.items() if value is not None}


def _as_param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _check_event(user_id: int, on: date, points: int) -> None:
    # The forum validates nothing here (a bad date is a 500, non-numeric points become 0).
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise PermanentFailure(f"a score event's user_id must be an integer, not {user_id!r}")
    if isinstance(points, bool) or not isinstance(points, int):
        raise PermanentFailure(f"a score event's points must be an integer, not {points!r}")
    if not isinstance(on, date) or isinstance(on, datetime):
        raise PermanentFailure(f"a score event's date must be a date, not {on!r}")
    if not -(2**31) <= points < 2**31:
        raise PermanentFailure(f"a score event's points must fit a 32-bit integer, not {points}")


def _wait_from_429(response: httpx.Response) -> float | None:
    """Retry-After (seconds or an HTTP date), else the JSON body's extras.wait_seconds."""
    header = response.headers.get("Retry-After")
    if header:
        header = header.strip()
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                moment = parsedate_to_datetime(header)
            except (TypeError, ValueError):
                moment = None
            if moment is not None:
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=UTC)
                return max(0.0, (moment - datetime.now(UTC)).total_seconds())
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        extras = body.get("extras")
        if isinstance(extras, dict) and extras.get("wait_seconds") is not None:
            try:
                return max(0.0, float(extras["wait_seconds"]))
            except (TypeError, ValueError):
                return None
    return None


def _errors_of(response: httpx.Response) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return [text.splitlines()[0][:200]] if text else []
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list):
            return [str(e) for e in errors]
        if body.get("error"):
            return [str(body["error"])]
    return []
