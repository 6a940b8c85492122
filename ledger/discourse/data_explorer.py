"""Reading a shipped query through Data Explorer, page by page by key.

A shipped query declares `:after` and `:limit` and selects `WHERE key > :after ORDER BY key
LIMIT :limit` (never OFFSET), so each call is cheap on a large forum and a read cut short
resumes from the last key it saw. Data Explorer also caps every answer (1,000 rows unless
asked, at most 10,000), so the cap is sent equal to the page size: a page shorter than the
page size then really is the last one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ledger.discourse.http import EXPLORER_MAX_LIMIT, DiscourseClient, QueryFailed

KEY_COLUMN = "key"


@dataclass(frozen=True)
class Page:
    """One page of rows: `after` is the key it was asked from, `last_key` the key to resume
    from (the last row's key; `after` itself for an empty page)."""

    rows: list[dict[str, Any]]
    after: int
    last_key: int

    @property
    def empty(self) -> bool:
        return not self.rows


def iter_pages(
    client: DiscourseClient,
    query_id: int,
    *,
    params: Mapping[str, Any] | None = None,
    after: int = 0,
    page_size: int = EXPLORER_MAX_LIMIT,
    key: str = KEY_COLUMN,
    checkpoint: Callable[[int], None] | None = None,
) -> Iterator[Page]:
    """Every page of a key-paged Data Explorer query from key `after` on, in key order.

    `params` are the query's other parameters; `after` and `limit` are set here. After each
    page is yielded (and so handled by the caller), `checkpoint(last_key)` is called, so a
    caller that stores it can resume with `after=` that key. Keys must rise strictly from
    row to row; a query that breaks this is refused (it would lose or repeat rows).
    """
    if not 1 <= page_size <= EXPLORER_MAX_LIMIT:
        raise ValueError(f"page_size must be between 1 and {EXPLORER_MAX_LIMIT}")
    while True:
        result = client.run_query(query_id, {**(params or {}), "after": after, "limit": page_size}, limit=page_size)
        if result.rows and key not in result.columns:
            raise QueryFailed(f"Data Explorer query {query_id} has no `{key}` column to page by (columns: {', '.join(result.columns)})")
        rows = result.dicts()
        last = after
        for row in rows:
            current = int(row[key])
            if current <= last:
                raise QueryFailed(f"Data Explorer query {query_id}: keys do not rise ({current} after {last}); it must ORDER BY its key")
            last = current
        page = Page(rows, after, last)
        if rows:
            yield page
            if checkpoint is not None:
                checkpoint(last)
        if len(rows) < page_size:
            return
        after = last


def iter_rows(client: DiscourseClient, query_id: int, **options: Any) -> Iterator[dict[str, Any]]:
    """Every row of a key-paged Data Explorer query, as dicts keyed by column name (the
    options are those of `iter_pages`)."""
    for page in iter_pages(client, query_id, **options):
        yield from page.rows


class NamedQuery(Protocol):
    """A shipped query as the importer names it (its `name` is the file's stem)."""

    # Read-only, so that frozen queries (ledger/discourse/queries.py) qualify.
    @property
    def name(self) -> str: ...


class DataExplorerForum:
    """The importer's `Forum` seam over Data Explorer: every shipped query is run through the
    one saved query `query_id` (sql/discourse/data_explorer.sql), naming it in `scorable`;
    each row comes back as JSON text and is handed on as the shipped query's row."""

    def __init__(self, client: DiscourseClient, query_id: int) -> None:
        self.client = client
        self.query_id = int(query_id)

    def run(self, query: NamedQuery, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The rows of `query` with `params` (a page when they carry `after` and `limit`)."""
        limit = params.get("limit")
        cap = min(int(limit), EXPLORER_MAX_LIMIT) if limit is not None else None
        try:
            result = self.client.run_query(self.query_id, {"scorable": query.name, **params}, limit=cap)
        except QueryFailed as exc:
            if "does not exist" in str(exc):
                raise QueryFailed(
                    f"{exc}: the forum lacks a plugin's tables; save the query composed without it (`explorer_query(without=...)`)"
                ) from None
            raise
        if result.rows and "row" not in result.columns:
            raise QueryFailed(
                f"Data Explorer query {self.query_id} is not scoreledger's (no `row` column): paste sql/discourse/data_explorer.sql"
            )
        return [_row(value) for value in (row["row"] for row in result.dicts())]

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> DataExplorerForum:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _row(value: Any) -> dict[str, Any]:
    found = json.loads(value) if isinstance(value, str) else value
    if not isinstance(found, dict):
        raise QueryFailed("a Data Explorer row is not a JSON object")
    return found
