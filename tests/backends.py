"""Where the test databases come from.

SQLite: a fresh file per test, copied from one migrated template (fast).
PostgreSQL: a fresh database per test, created from one migrated template database, on the
server named by SCORELEDGER_TEST_DATABASE_URL, or else on a testcontainers PostgreSQL when
a Docker engine is reachable. With neither, PostgreSQL tests skip with the reason, except
under CI=true, where they fail: CI must never pass without PostgreSQL.
"""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ledger.store import schema
from ledger.store.engine import normalize_url, open_engine

if TYPE_CHECKING:
    from testcontainers.postgres import PostgresContainer

_counter = itertools.count()


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


class PostgresServer:
    """Creates and drops per-test databases on one PostgreSQL server."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = normalize_url(admin_url)
        self.admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        self.prefix = f"sl_test_{os.getpid()}"
        self._drop_orphans()
        self.template = f"{self.prefix}_template"
        self._drop(self.template)
        self._create(self.template)
        engine = open_engine(self.url_for(self.template))
        schema.upgrade(engine)
        engine.dispose()

    def _drop_orphans(self) -> None:
        """Drop test databases of test runs whose process is gone: a run cut short (the
        crash suite stops the server on purpose) cannot drop its own."""
        with self.admin.connect() as conn:
            names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'sl\\_test\\_%'")).scalars().all()
        for name in names:
            owner = name.split("_")[2]
            if owner.isdigit() and not _process_alive(int(owner)):
                self._drop(name)

    def url_for(self, database: str) -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)

    def _create(self, database: str, template: str | None = None) -> None:
        clause = f" TEMPLATE {template}" if template else ""
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}"{clause}'))

    def _drop(self, database: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))

    def fresh_database(self, *, migrated: bool = True) -> str:
        name = f"{self.prefix}_{next(_counter)}"
        self._create(name, self.template if migrated else None)
        return name

    def drop(self, database: str) -> None:
        self._drop(database)

    def close(self) -> None:
        self._drop(self.template)
        self.admin.dispose()


def start_postgres() -> tuple[PostgresServer | None, str, PostgresContainer | None]:
    """A server to test against: (server, why not, container to stop)."""
    url = os.environ.get("SCORELEDGER_TEST_DATABASE_URL")
    if url:
        # Named explicitly, so a server that does not answer is an error, not a skip.
        return PostgresServer(url), "", None
    try:
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:16-alpine", driver="psycopg")
        container.start()
    except Exception as exc:  # noqa: BLE001 - no Docker engine is the common case
        reason = (
            "no PostgreSQL: set SCORELEDGER_TEST_DATABASE_URL (e.g. "
            "postgresql://postgres@127.0.0.1:5432/test) or run a Docker engine for testcontainers "
            f"({type(exc).__name__})"
        )
        return None, reason, None
    return PostgresServer(container.get_connection_url()), "", container


class SqliteTemplate:
    """One migrated SQLite file, copied for each test."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "template.db"
        engine = open_engine(f"sqlite:///{self.path}")
        schema.upgrade(engine)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()

    def fresh_url(self, folder: Path, *, migrated: bool = True) -> str:
        target = folder / f"ledger_{next(_counter)}.db"
        if migrated:
            shutil.copyfile(self.path, target)
        else:
            target.touch()  # an empty file is an SQLite database with no schema; opening never creates one
        return f"sqlite:///{target}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
