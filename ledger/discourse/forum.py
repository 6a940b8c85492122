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
from ledger.store.actions import ActionRow


class ForumError(LedgerError):
    """The forum could not be read (unreachable, or a query failed there)."""


class Forum(Protocol):
    """Runs one shipped query with parameters and returns its rows as mappings."""

    def run(self, query: Query, params: dict[str, Any]) -> list[dict[str, Any]]: ...


# Below every key: Discourse's own users have ids down to -2 (system -1, discobot -2).
FIRST_KEY = -(2**62)


# The types of the columns `PostgresForum.scoring_rows` reads.
_ACTION_TYPES = ("text", "int8", "timestamp", "int8", "text")

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
                dsn, autocommit=True, row_factory=dict_row, options="-c default_transaction_read_only=on -c TimeZone=UTC"
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

    def scoring_rows(self, query: Query, action: str, prefix: str, *, after: int = FIRST_KEY, chunk: int) -> Iterator[list[ActionRow]]:
        """Every row scoring now of a scoring query keyed above `after`, in key order, as the ledger's actions,
        `chunk` at a time: the query runs once, its rows streamed by COPY in binary (a page per
        statement would run the query's joins again for every page). The source key and the
        attributes (spelled as `canonical_json` spells them) are built by the forum's server,
        so that Python makes one tuple per row and nothing else."""
        text = self._prepared.get(f"{query.name}:actions")
        if text is None:
            text = self._prepared[f"{query.name}:actions"] = (
                "COPY (SELECT CAST(%(key_prefix)s AS text) || q.key, CAST(q.user_id AS bigint), "
                "CAST(q.occurred_at AS timestamp), CAST(q.quantity AS bigint), "
                """'{' || concat_ws(',', '"category_id":' || q.category_id, '"post_id":' || q.post_id, '"topic_id":' || q.topic_id) || '}' """
                f"FROM ({as_psycopg(query.text)}) AS q WHERE q.user_id IS NOT NULL) TO STDOUT (FORMAT BINARY)"
            )
        # No page limit: LIMIT NULL is no limit.
        params = {"after": after, "limit": None, "changed_since": NEVER}
        bound = {name: value for name, value in params.items() if name in query.params}
        make = ActionRow._make
        try:
            with self.conn.cursor() as cursor, cursor.copy(text, {**bound, "key_prefix": f"{prefix}:"}) as copy:
                copy.set_types(_ACTION_TYPES)
                rows: list[ActionRow] = []
                for key, user, moment, quantity, attributes in copy.rows():
                    rows.append(make((key, user, action, moment, quantity, attributes)))
                    if len(rows) == chunk:
                        yield rows
                        rows = []
                if rows:
                    yield rows
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
