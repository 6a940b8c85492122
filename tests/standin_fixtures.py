"""Fixtures for the Discourse transport tests: a forum database of our own on the test
PostgreSQL server, a running stand-in over it, and credentials in the environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.backends import in_ci
from tests.discourse_standin import ForumDatabase, StandIn, ensure_minimal_schema

API_KEY = "standin-test-key-0123456789"
API_USERNAME = "system"


@pytest.fixture(scope="session")
def _forum_database_once(postgres_server) -> Iterator[ForumDatabase | None]:
    if postgres_server is None:
        yield None
        return
    database = ForumDatabase(postgres_server.admin_url)
    with database.connect() as conn:
        ensure_minimal_schema(conn)
    try:
        yield database
    finally:
        database.drop()


@pytest.fixture
def forum_database(_forum_database_once: ForumDatabase | None) -> ForumDatabase:
    """A database `<test db>_forum_<pid>_<n>` of the stand-in's tables, emptied for each test
    (created once a session, dropped at its end)."""
    if _forum_database_once is None:
        reason = postgres_server_reason()
        if in_ci():
            pytest.fail(f"PostgreSQL tests must run in CI: {reason}")
        pytest.skip(reason)
    with _forum_database_once.connect() as conn:
        tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
        if tables:
            conn.execute("TRUNCATE " + ", ".join(f'"{name}"' for (name,) in tables) + " RESTART IDENTITY")
    return _forum_database_once


def postgres_server_reason() -> str:
    from tests.conftest import postgres_server as fixture

    return getattr(fixture, "reason", "no PostgreSQL server")


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stand-in's API key and username in the environment, where the client reads them."""
    monkeypatch.setenv("DISCOURSE_API_KEY", API_KEY)
    monkeypatch.setenv("DISCOURSE_API_USERNAME", API_USERNAME)


@pytest.fixture
def standin(forum_database: ForumDatabase, credentials: None) -> Iterator[StandIn]:
    """A running stand-in forum with no rate limits, over a fresh database."""
    with StandIn(forum_database.url, api_key=API_KEY, username=API_USERNAME) as server:
        yield server
