"""Where forum rows come from: the seam between the importer and its transports.

The importer asks a `Forum` for "the rows of shipped query Q with these parameters" and
nothing else; a page of a scorable is `run(query, {"after": key, "limit": n})`. Two
transports serve it: `PostgresForum` (a read-only database session) and the Data Explorer
client (which runs the same query text through the forum's API).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

import psycopg
from psycopg.rows import dict_row

from ledger.discourse.queries import MAX_PAGE, Query, as_psycopg
from ledger.domain import parse_timestamp, utc_naive
from ledger.errors import DatabaseUnavailable, LedgerError
from ledger.rows import CopyLines


class ForumError(LedgerError):
    """The forum could not be read (unreachable, or a query failed there)."""


class Forum(Protocol):
    """Runs one shipped query with parameters and returns its rows as mappings."""

    def run(self, query: Query, params: dict[str, Any]) -> list[dict[str, Any]]: ...


# Below every key: Discourse's own users have ids down to -2 (system -1, discobot -2).
FIRST_KEY = -(2**62)


# A scoring query's :changed_since when only the rows scoring now are wanted.
NEVER = datetime(9999, 12, 31)


def pages(
    forum: Forum, query: Query, *, page_size: int = MAX_PAGE, after: int = FIRST_KEY, changed_since: datetime | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Every row of a paged query, a page at a time, in key order, keyed above `after`. A
    scoring query answers the rows scoring now, or with `changed_since` every row the forum
    changed since then, each with `scores` and `changed_at`; the users query every user, or
    those updated since then."""
    page_size = min(page_size, MAX_PAGE)
    extra: dict[str, Any] = {}
    if query.reads_changes:
        extra["changed_since"] = changed_since or NEVER
    elif changed_since is not None:
        raise ValueError(f"query {query.name} does not read changes")
    while True:
        rows = forum.run(query, {"after": after, "limit": page_size, **extra})
        if rows:
            yield rows
        if len(rows) < page_size:
            return
        after = int(rows[-1]["key"])


class PostgresForum:
    """A Discourse database read over one connection in a read-only session: every statement
    runs with default_transaction_read_only on, in UTC, so the importer cannot write there."""

    def __init__(self, dsn: str) -> None:
        try:
            self.conn = psycopg.connect(
                dsn,
                autocommit=True,
                row_factory=dict_row,
                options="-c default_transaction_read_only=on -c TimeZone=UTC -c client_encoding=UTF8",
            )
        except psycopg.Error as exc:
            raise DatabaseUnavailable(f"cannot reach the Discourse database: {_first_line(exc)}") from None
        self._prepared: dict[str, str] = {}

    def run(self, query: Query, params: dict[str, Any]) -> list[dict[str, Any]]:
        text = self._prepared.get(query.name)
        if text is None:
            text = self._prepared[query.name] = as_psycopg(query.text)
        try:
            return list(self.conn.execute(text, params, prepare=True).fetchall())
        except psycopg.Error as exc:
            raise ForumError(f"query {query.name} failed on the forum: {_first_line(exc)}") from None

    def scoring_lines(self, query: Query, action: str, prefix: str, *, after: int = FIRST_KEY, chunk: int) -> Iterator[CopyLines]:
        """Every row scoring now of a scoring query keyed above `after`, in key order, as the
        ledger's actions spelled as COPY text (ledger/rows.py CopyLines), `chunk` at a time:
        the query runs once, its rows streamed by COPY (a page per statement would run the
        query's joins again for every page). The forum's server spells every field (the
        source key, the time to the microsecond, the attributes as `canonical_json` spells
        them, the UTC day), so that Python handles one string per row."""
        text = self._prepared.get(f"{query.name}:actions")
        if text is None:
            text = self._prepared[f"{query.name}:actions"] = (
                "COPY (SELECT CAST(%(key_prefix)s AS text) || q.key, CAST(q.user_id AS bigint), CAST(%(action)s AS text), "
                "to_char(CAST(q.occurred_at AS timestamp), 'YYYY-MM-DD HH24:MI:SS.US'), CAST(q.quantity AS bigint), "
                """'{' || concat_ws(',', '"category_id":' || q.category_id, '"post_id":' || q.post_id, '"topic_id":' || q.topic_id) || '}', """
                "to_char(CAST(q.occurred_at AS timestamp), 'YYYY-MM-DD') "
                f"FROM ({as_psycopg(query.text)}) AS q WHERE q.user_id IS NOT NULL) TO STDOUT"
            )
        # No page limit: LIMIT NULL is no limit.
        params = {"after": after, "limit": None, "changed_since": NEVER}
        bound = {name: value for name, value in params.items() if name in query.params}
        try:
            with self.conn.cursor() as cursor, cursor.copy(text, {**bound, "key_prefix": f"{prefix}:", "action": action}) as copy:
                lines: list[str] = []
                # Each item is one row's line, ending in a newline.
                for data in copy:
                    lines.append(str(data, "utf-8")[:-1])
                    if len(lines) == chunk:
                        yield CopyLines("discourse", lines)
                        lines = []
                if lines:
                    yield CopyLines("discourse", lines)
        except psycopg.Error as exc:
            raise ForumError(f"query {query.name} failed on the forum: {_first_line(exc)}") from None

    def estimated_rows(self, tables: list[str]) -> int:
        """The planner's row counts of `tables` (a table named twice counted twice), 0 for a
        table never counted: a cheap estimate of how many rows reading them gives."""
        try:
            found = self.conn.execute(
                "SELECT relname AS name, GREATEST(reltuples, 0)::bigint AS estimate FROM pg_class "
                "WHERE relkind IN ('r', 'p') AND relname = ANY(%s) AND pg_table_is_visible(oid)",
                (sorted(set(tables)),),
            ).fetchall()
        except psycopg.Error as exc:
            raise ForumError(f"the forum's table sizes could not be read: {_first_line(exc)}") from None
        counts = {row["name"]: int(row["estimate"]) for row in found}
        return sum(counts.get(table, 0) for table in tables)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> PostgresForum:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def as_datetime(value: Any) -> datetime:
    """A timestamp from either transport (a datetime from the driver, ISO text from the API)
    as naive UTC."""
    if isinstance(value, datetime):
        return utc_naive(value)
    return parse_timestamp(str(value))
