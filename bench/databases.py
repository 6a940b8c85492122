"""Scratch databases for one benchmark run: created empty, dropped afterwards."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from alembic.script import ScriptDirectory
from psycopg import sql

from ledger import Ledger
from ledger.store import schema
from ledger.store.engine import open_engine

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_reachable(admin_url: str) -> str | None:
    """None when the server answers, else the reason it does not."""
    try:
        with psycopg.connect(admin_url, connect_timeout=5):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


@contextmanager
def postgres_database(admin_url: str, purpose: str) -> Iterator[str]:
    """A fresh database named bench_<purpose>_<pid>; yields its URL and drops it after."""
    name = f"bench_{purpose}_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _as_url(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def sqlite_file(purpose: str) -> Iterator[str]:
    """A fresh SQLite file in a temporary folder; yields its URL and removes the folder after."""
    folder = Path(tempfile.mkdtemp(prefix=f"bench_{purpose}_"))
    try:
        yield f"sqlite:///{folder / 'ledger.db'}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def initialised(url: str) -> str:
    """`url`, once the ledger's schema is created in its database (scoreledger init)."""
    book = Ledger.open(url)
    try:
        book.init()
    finally:
        book.close()
    return url


def _as_url(admin_url: str, database: str) -> str:
    """`admin_url` pointing at `database` instead (URL form, as scoreledger takes it)."""
    head, _, tail = admin_url.rpartition("/")
    query = ""
    if "?" in tail:
        query = "?" + tail.split("?", 1)[1]
    return f"{head}/{database}{query}"


def schema_taken_back(url: str, revision: str) -> None:
    """Take the ledger schema of the database at `url` back to Alembic `revision` through this
    checkout's migrations (each one's downgrade, newest first), so that code of an older
    revision, which refuses a newer schema, can be measured on a ledger this code wrote."""
    require_reachable(revision)
    engine = open_engine(url)
    try:
        with engine.begin() as conn:
            schema.migrate(conn, revision, down=True)
    finally:
        engine.dispose()


def require_reachable(revision: str) -> None:
    """Refuse a schema revision that this checkout's migrations cannot take a database back
    to (a later or another line's revision)."""
    known = {script.revision for script in ScriptDirectory.from_config(schema.migrations_config()).walk_revisions()}
    if revision not in known:
        raise ValueError(f"schema revision {revision!r} is not among this checkout's migrations: a database cannot be taken back to it")
