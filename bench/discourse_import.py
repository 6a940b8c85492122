"""The Discourse import's speed, on the benchmark's forum database: a full `discourse import`
in scoring rows read per second; a later import after 10,000 new or changed forum rows, in
seconds; and the same full import through Data Explorer (the tests' stand-in serving the
shipped query over that database), in calls and seconds per 100,000 rows."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import psycopg

from bench import scales
from bench.databases import initialised, postgres_database
from bench.measurements import Result, timed
from ledger import Ledger
from ledger.discourse.data_explorer import DataExplorerForum
from ledger.discourse.explorer_query import compose
from ledger.discourse.forum import PostgresForum
from ledger.discourse.http import DiscourseClient
from ledger.discourse.importer import ImportReport, import_forum

LEDGER = "discourse-import"
EXPLORER_LEDGER = "discourse-import-explorer"
CHANGED_ROWS = 10_000
# Through the stand-in, every row goes through HTTP and JSON: after this many scoring rows the
# figure per 100,000 rows is known well enough, and a larger forum's import is stopped there.
EXPLORER_MAX_ROWS = 1_000_000
INCREMENTAL_TARGET_S = 2.0


def measure_first_import(forum_url: str, admin_url: str, purpose: str) -> list[Result]:
    """`measure_import` into a new ledger database (bench/databases.py `postgres_database`,
    named for `purpose`), as a forum's first import goes; the database is dropped after."""
    with postgres_database(admin_url, purpose) as ledger_url:
        return measure_import(forum_url, initialised(ledger_url))


def measure_import(forum_url: str, ledger_url: str) -> list[Result]:
    """Import every scoring row of the forum at `forum_url` into ledgers of their own in the
    database at `ledger_url`, which holds no other (a forum's first import goes into a new
    ledger database): from the database, again after 10,000 forum rows changed, and through
    Data Explorer."""
    book = Ledger.open(ledger_url, LEDGER)
    try:
        seconds, report = _full_import(book, forum_url)
        rows = sum(report.found.values())
        skipped = ", ".join(sorted(report.skipped)) or "none"
        results = [
            Result(
                "discourse import from the forum database (full)",
                "postgresql",
                rows,
                rows / seconds if seconds else None,
                "rows/s",
                scales.DISCOURSE_IMPORT_PER_S,
                higher_is_better=True,
                note=f"{rows:,} scoring rows in {seconds:.1f} s, {sum(report.added.values()):,} actions added; scorables without tables here: {skipped}",
            )
        ]
        changed = change_the_forum(forum_url, CHANGED_ROWS)
        with PostgresForum(forum_url) as forum:
            seconds, later = timed(lambda: import_forum(book, forum))
        assert isinstance(later, ImportReport)
        counts = ", ".join(f"{sum(getattr(later, name).values()):,} {name}" for name in ("added", "retracted", "amended"))
        results.append(
            Result(
                f"discourse import after {CHANGED_ROWS:,} new or changed forum rows",
                "postgresql",
                rows,
                seconds,
                "s",
                INCREMENTAL_TARGET_S,
                note=f"{changed}; {counts}{'; escalated to a full reconcile' if later.full else ''}",
            )
        )
    finally:
        book.close()
    results.append(_through_data_explorer(forum_url, ledger_url, rows))
    return results


def measure_import_beside(forum_url: str, shared_url: str) -> Result:
    """The full import again, into ledger LEDGER in the database at `shared_url`, which
    already holds a ledger as large: its rows go into the same tables, too few against what
    they hold for the bulk path, so every index is updated row by row."""
    book = Ledger.open(shared_url, LEDGER)
    try:
        seconds, report = _full_import(book, forum_url)
    finally:
        book.close()
    rows = sum(report.found.values())
    return Result(
        "discourse import from the forum database (full), beside another ledger as large",
        "postgresql",
        rows,
        rows / seconds if seconds else None,
        "rows/s",
        note=f"{rows:,} scoring rows in {seconds:.1f} s into the database of the benchmark's 10M-action ledger; indexes updated row by row",
    )


def _full_import(book: Ledger, forum_url: str) -> tuple[float, ImportReport]:
    """The seconds a full import of the forum at `forum_url` into `book` took, and its report."""
    with PostgresForum(forum_url) as forum:
        seconds, report = timed(lambda: import_forum(book, forum))
    assert isinstance(report, ImportReport)
    return seconds, report


def change_the_forum(forum_url: str, number: int) -> str:
    """`number` forum rows written now, as the forum's users would: half new likes on existing
    posts, a quarter of replies edited, a quarter deleted."""
    quarter = number // 4
    with psycopg.connect(forum_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO post_actions (id, post_id, user_id, post_action_type_id, created_at, updated_at) "
            "SELECT (SELECT max(id) FROM post_actions) + g, p.id, p.user_id, 2, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC' "
            "FROM generate_series(1, %s) AS g JOIN posts AS p ON p.id = (SELECT min(id) FROM posts) + g",
            (number - 2 * quarter,),
        )
        conn.execute(
            "UPDATE posts SET updated_at = now() AT TIME ZONE 'UTC' WHERE id IN (SELECT id FROM posts WHERE post_number > 1 ORDER BY id DESC LIMIT %s)",
            (quarter,),
        )
        conn.execute(
            "UPDATE posts SET deleted_at = now() AT TIME ZONE 'UTC' WHERE id IN "
            "(SELECT id FROM posts WHERE post_number > 1 AND deleted_at IS NULL ORDER BY id DESC OFFSET %s LIMIT %s)",
            (quarter, quarter),
        )
    return f"{number - 2 * quarter:,} new likes, {quarter:,} replies edited, {quarter:,} deleted"


class _Enough(Exception):
    """The import through Data Explorer has read EXPLORER_MAX_ROWS rows."""


def _through_data_explorer(forum_url: str, ledger_url: str, rows: int) -> Result:
    """A full import through the stand-in Data Explorer (the same import, each page a call),
    stopped once EXPLORER_MAX_ROWS rows are read: in seconds per 100,000 rows, with its calls."""
    from tests.discourse_standin import StandIn

    name = "discourse import through Data Explorer (stand-in, full)"
    found = 0

    def count(_action: str, page_rows: int) -> None:
        nonlocal found
        found += page_rows
        if found >= EXPLORER_MAX_ROWS:
            raise _Enough

    book = Ledger.open(ledger_url, EXPLORER_LEDGER)
    try:
        with _credentials() as (key, username), StandIn(forum_url, api_key=key, username=username) as server:
            # The benchmark's forum has neither solved, reactions nor chat, nor per-leaderboard values.
            server.add_query(1, compose(("solved", "reactions", "chat", "leaderboards")))
            with DataExplorerForum(DiscourseClient(server.url, rate_per_minute=None), 1) as forum:
                started = time.perf_counter()
                with suppress(_Enough):
                    import_forum(book, forum, progress=count)
                seconds = time.perf_counter() - started
                calls = forum.client.requests_sent
    finally:
        book.close()
    per = 100_000 / found if found else 0.0
    read = f"{found:,} scoring rows" + (f" of {rows:,} (stopped there)" if found < rows else "")
    return Result(
        name,
        "postgresql",
        found,
        seconds * per,
        "s/100k rows",
        note=f"{read} in {seconds:.1f} s, {calls:,} calls ({calls * per:.0f} per 100,000 rows; 10,000 rows a call)",
    )


@contextmanager
def _credentials() -> Iterator[tuple[str, str]]:
    """The stand-in's key in the environment, where the client reads it, for this run only."""
    saved = {name: os.environ.get(name) for name in ("DISCOURSE_API_KEY", "DISCOURSE_API_USERNAME")}
    os.environ["DISCOURSE_API_KEY"], os.environ["DISCOURSE_API_USERNAME"] = "bench-standin-key", "system"
    try:
        yield "bench-standin-key", "system"
    finally:
        for variable, value in saved.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value
