"""Fixtures for the Discourse transport tests: a forum database of our own on the test
PostgreSQL server, a running stand-in over it, and credentials in the environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.backends import in_ci
from tests.discourse_standin import ForumDatabase, StandIn

API_KEY = "standin-test-key-0123456789"
API_USERNAME = "system"


@pytest.fixture
def forum_database(postgres_server) -> Iterator[ForumDatabase]:  # type: ignore[no-untyped-def]
    """An empty database `<test db>_forum_<pid>_<n>`, dropped after the test."""
    if postgres_server is None:
        reason = postgres_server_reason()
        if in_ci():
            pytest.fail(f"PostgreSQL tests must run in CI: {reason}")
        pytest.skip(reason)
    database = ForumDatabase(postgres_server.admin_url)
    try:
        yield database
    finally:
        database.drop()


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
