"""Fixtures shared by the contract suite: every backend-parametrized test runs on SQLite and
PostgreSQL (see tests/backends.py for where the databases come from)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger import Ledger
from tests.backends import PostgresServer, SqliteTemplate, in_ci, start_postgres

BACKENDS = ["sqlite", "postgresql"]
# Tests marked stops_server stop the PostgreSQL server they run against (and its recovery
# empties every database's unlogged tables there): they run only when this is 1.
STOP_SERVER_OPT_IN = "SCORELEDGER_TEST_STOP_SERVER"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any fixture: a server-stopping test without the opt-in is skipped, or, under
    CI=true, fails, so that CI never passes without having run it."""
    if item.get_closest_marker("stops_server") is None or os.environ.get(STOP_SERVER_OPT_IN) == "1":
        return
    reason = f"stops the PostgreSQL server it runs against: set {STOP_SERVER_OPT_IN}=1 to run it"
    if in_ci():
        pytest.fail(f"CI must run this test: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | None]:
    server, reason, container = start_postgres()
    postgres_server.reason = reason  # type: ignore[attr-defined]
    yield server
    if server is not None:
        server.close()
    if container is not None:
        container.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


def _database(request, backend, tmp_path, sqlite_template, *, migrated: bool) -> Iterator[str]:
    if backend == "sqlite":
        yield sqlite_template.fresh_url(tmp_path, migrated=migrated)
        return
    server = request.getfixturevalue("postgres_server")
    if server is None:
        reason = postgres_server.reason  # type: ignore[attr-defined]
        if in_ci():
            pytest.fail(f"PostgreSQL tests must run in CI: {reason}")
        pytest.skip(reason)
    name = server.fresh_database(migrated=migrated)
    try:
        yield server.url_for(name)
    finally:
        server.drop(name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(request, backend, tmp_path: Path, sqlite_template) -> Iterator[str]:
    """A migrated, empty database on the test's backend."""
    yield from _database(request, backend, tmp_path, sqlite_template, migrated=True)


@pytest.fixture
def empty_database_url(request, backend, tmp_path: Path, sqlite_template) -> Iterator[str]:
    """A database on the test's backend with no schema at all."""
    yield from _database(request, backend, tmp_path, sqlite_template, migrated=False)


@pytest.fixture
def book(database_url: str) -> Iterator[Ledger]:
    """The `default` ledger in a fresh database."""
    ledger = Ledger.open(database_url)
    yield ledger
    ledger.close()


class Cli:
    """Runs `scoreledger --db URL ...` in-process, as a user would type it."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | bytes | None = None, ok: bool = True):
        from cli.app import app

        result = self.runner.invoke(app, ["--db", self.database_url, *args], input=input)
        if ok and result.exit_code != 0:
            raise AssertionError(
                f"scoreledger {' '.join(args)} exited {result.exit_code}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\n{result.exception!r}"
            )
        return result


@pytest.fixture
def cli(database_url: str) -> Cli:
    return Cli(database_url)


# Under CI=true no PostgreSQL test may be skipped: CI must prove both backends.
_skipped_postgres: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "postgresql" in report.nodeid:
        _skipped_postgres.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if in_ci() and _skipped_postgres:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        for nodeid in _skipped_postgres:
            print(f"\nCI: PostgreSQL test skipped: {nodeid}")
