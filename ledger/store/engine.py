"""Opening a database, and turning driver errors into the ledger's own.

SQLite is the embedded default; PostgreSQL (psycopg 3) the production store. Everything
dialect-specific about *connecting* lives here; dialect-specific SQL lives in sql/.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from psycopg import Error as _DriverError
from psycopg import errors as _pg_errors
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from ledger.config import redact
from ledger.errors import (
    DatabaseUnavailable,
    ImmutableEventError,
    NotInitialized,
    StoreError,
)
from ledger.store.dialects import dialect_of

APPEND_ONLY_MARK = "is append-only"
# One lock for every write to the journal: batches get gap-free sequence numbers and each
# batch's hash covers the one before, so writers take turns. (SQLite: BEGIN IMMEDIATE.)
JOURNAL_LOCK_KEY = 0x5C0E1ED6
# The lock a recalculation holds throughout (ledger/replay.py PROJECTION_LOCK_KEY, the same
# number): a bulk ingest takes it before ACCESS EXCLUSIVE on actions (ledger/store/actions.py).
PROJECTION_LOCK_KEY = 0x5C0E1ED8
# Bytes per page of a new SQLite database (SQLite's default is 4096): larger pages mean fewer
# to write to the WAL and copy back during an ingest, and fewer to read for a user's audit.
SQLITE_PAGE_SIZE = 8192
# Seconds an SQLite writer waits for another to finish before giving up with a clear error.
SQLITE_BUSY_TIMEOUT = 60.0


def normalize_url(url: str) -> str:
    """Accept the URLs people type (`postgresql://`, `postgres://`) and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def open_engine(url: str) -> Engine:
    """An Engine for `url`, configured for the ledger (SQLite pragmas, psycopg driver)."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT})
            _configure_sqlite(engine)
            return engine
        if parsed.get_backend_name() == "postgresql":
            # psycopg prepares a statement after its fifth run, and PostgreSQL may then
            # switch it to a generic plan that cannot see parameter values: `seq > $1`
            # becomes a full scan that every leaderboard call pays for.
            # Our statements are few and cheap to plan, so plan each with its values.
            return create_engine(url, pool_pre_ping=True, connect_args={"prepare_threshold": None})
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise DatabaseUnavailable(f"not a usable database URL: {redact(url)} ({exc})") from None
    raise DatabaseUnavailable(f"unsupported database {redact(url)}: use sqlite:///FILE or postgresql://...")


def sqlite_file(engine: Engine) -> str | None:
    """The file an SQLite engine opens, or None (another backend, or an in-memory database)."""
    if not dialect_of(engine).is_sqlite:
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def create_sqlite_file(engine: Engine) -> None:
    """Create the (empty) database file of an SQLite engine if it does not exist: opening one
    never does (see _configure_sqlite), only `init` does, through this."""
    path = sqlite_file(engine)
    if path is not None and not os.path.exists(path):
        try:
            sqlite3.connect(path).close()
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(f"cannot create the database {path}: {exc}") from None


def _readable_in_place(connection: sqlite3.Connection) -> bool:
    """Whether the database can be read as it is: a WAL database whose folder (or file system)
    is read-only cannot, when no -shm file is there for SQLite to share."""
    try:
        connection.execute("PRAGMA schema_version").fetchone()
    except sqlite3.OperationalError as exc:
        if (exc.sqlite_errorname or "").startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")):
            return False
        raise
    return True


def _read_only_snapshot(path: str, cparams: dict[str, Any]) -> sqlite3.Connection:
    """The database opened read-only as immutable, so that read commands work on a file in a
    read-only folder or file system: no writer is active then (one would have left the -shm
    file that reading needs), and every write is refused as read-only."""
    options = {key: value for key, value in cparams.items() if key not in ("database", "uri")}
    return sqlite3.connect(f"{Path(os.path.abspath(path)).as_uri()}?mode=ro&immutable=1", uri=True, **options)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "do_connect")
    def _connect_existing_file(dialect: object, connection_record: object, cargs: list[Any], cparams: dict[str, Any]) -> sqlite3.Connection:
        # SQLite creates a missing file on connect: a mistyped --db would leave an empty
        # database behind, so only `init` (create_sqlite_file) creates one.
        path = sqlite_file(engine)
        if path is not None and not os.path.exists(path):
            raise NotInitialized(f"there is no database at {path}; run `scoreledger init` to create one")
        connection = sqlite3.connect(*cargs, **cparams)
        if path is None or _readable_in_place(connection):
            return connection
        connection.close()
        return _read_only_snapshot(path, cparams)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy's BEGIN (below) control transactions, not the sqlite3 module.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Without recursive_triggers, INSERT OR REPLACE deletes the old row without firing
        # the DELETE trigger, which would let it overwrite an event.
        cursor.execute("PRAGMA recursive_triggers=ON")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Takes effect only in a new, empty file, so it must come before journal_mode writes
        # the header; an existing database keeps the page size it was created with.
        cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            # A read-only file that is not in WAL mode yet cannot be switched: read it as it is.
            if not (exc.sqlite_errorname or "").startswith("SQLITE_READONLY"):
                raise
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front so two writers never both read the journal
        # head and then collide; readers begin a plain deferred transaction.
        if conn.get_execution_options().get("ledger_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


@contextmanager
def write_transaction(engine: Engine, lock_key: int = JOURNAL_LOCK_KEY) -> Iterator[Connection]:
    """A transaction that holds a write lock (by default the journal's): one writer at a
    time, all or nothing. On SQLite every writer shares the one lock of BEGIN IMMEDIATE."""
    with translate_errors(), engine.connect() as conn:
        conn = conn.execution_options(ledger_write=True)
        with conn.begin():
            dialect_of(conn).lock_exclusively(conn, lock_key)
            yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction for reading a consistent snapshot."""
    with translate_errors(), engine.connect() as conn, conn.begin():
        dialect_of(conn).repeatable_snapshot(conn)
        yield conn


@contextmanager
def statement_reads(engine: Engine) -> Iterator[Connection]:
    """A connection for a reader whose statements are each consistent on their own, i.e.
    may each read their own snapshot. On PostgreSQL they run outside any transaction, which
    saves `read_transaction`'s BEGIN, SET TRANSACTION and COMMIT round trips, which show in
    a per-user audit; SQLite's read transaction costs no round trips, so it keeps it."""
    if not dialect_of(engine).is_postgresql:
        with read_transaction(engine) as conn:
            yield conn
        return
    with translate_errors(), engine.connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


def vacuum_analyze(engine: Engine, *tables: str) -> None:
    """On PostgreSQL, VACUUM (ANALYZE) `tables`: fresh planner statistics, and a visibility map
    so that index-only scans need not visit the table. VACUUM cannot run in a transaction, so
    callers run this after their write commits; if it is interrupted nothing is lost, reads are
    only slower until autovacuum catches up. SQLite has no such step."""
    if not dialect_of(engine).is_postgresql:
        return
    with translate_errors(), engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql(f"VACUUM (ANALYZE) {', '.join(tables)}")


@contextmanager
def server_prepared(conn: Connection) -> Iterator[Connection]:
    """On PostgreSQL, statements run inside are prepared once per connection and then reuse
    their plan (a generic one after five runs). The engine otherwise plans every statement
    with its values (see open_engine); use this only for a statement whose plan does not
    depend on them. Elsewhere it changes nothing."""
    if not dialect_of(conn).is_postgresql:
        yield conn
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    # psycopg prepares a statement once it has run `prepare_threshold` times on the
    # connection, and never while the threshold is None (the engine's setting).
    previous = driver.prepare_threshold
    driver.prepare_threshold = 0
    try:
        yield conn
    finally:
        driver.prepare_threshold = previous


@contextmanager
def translate_errors() -> Iterator[None]:
    """Re-raise driver errors as ledger errors with one readable line."""
    try:
        yield
    except DBAPIError as exc:
        raise translate(exc) from exc
    except _DriverError as exc:
        # Raised by the driver directly, outside SQLAlchemy: the COPY path on PostgreSQL.
        raise translate(exc) from exc


def translate(exc: Exception) -> StoreError | NotInitialized | DatabaseUnavailable:
    """The ledger error for a driver error (wrapped by SQLAlchemy or raw from the driver),
    chosen by the error's class (psycopg) or result code (sqlite3), never by its wording."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    message = str(orig).strip().splitlines()[0] if orig is not None and str(orig).strip() else str(exc)
    kind = _sqlite_kind(orig) if isinstance(orig, sqlite3.Error) else _postgres_kind(exc, orig)
    if kind == "append-only":
        return ImmutableEventError(message.removeprefix("ERROR:  ").strip())
    if kind == "no schema":
        return NotInitialized(f"the database has no ledger schema ({message}); run `scoreledger init`")
    if kind == "locked":
        return StoreError(
            "the database is locked: another scoreledger process (an ingest, recalc or schedule "
            f"change) is writing to it and did not finish within {SQLITE_BUSY_TIMEOUT:g} s; nothing "
            "was changed by this command: run it again once that one has finished"
        )
    if kind == "read-only":
        return DatabaseUnavailable(
            f"cannot write the database ({message}): the file, its folder or the file system is "
            "read-only. Reads work on a read-only database whose projections are up to date; this "
            "command had to write (an ingest, a recalc, a schedule change, or a read that first brings "
            "the projections up to date): run it, or `scoreledger recalc`, where the database is writable"
        )
    if kind == "cannot open file":
        return DatabaseUnavailable(
            f"cannot open the database ({message}): its folder may be read-only or missing. SQLite "
            "needs to create the -wal and -shm files beside the database even to read it; copy it "
            "somewhere writable, or fix the folder's permissions"
        )
    if kind == "lost":
        # Mid-transaction: the server rolls back whatever was not committed.
        return DatabaseUnavailable(
            f"lost the connection to the database ({message}); the unfinished batch was not recorded: run the command again"
        )
    if kind == "cannot connect":
        return DatabaseUnavailable(f"cannot open the database: {message}")
    return StoreError(message)


def _sqlite_kind(orig: sqlite3.Error) -> str | None:
    """What a sqlite3 error means for the ledger, by its (extended) result code's name."""
    name = getattr(orig, "sqlite_errorname", None) or ""
    if name == "SQLITE_CONSTRAINT_TRIGGER":
        # Only the append-only triggers' RAISE(ABORT) (ledger/store/append_only.py) gives it.
        return "append-only"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return "locked"
    if name.startswith("SQLITE_READONLY"):
        return "read-only"
    if name.startswith("SQLITE_CANTOPEN"):
        return "cannot open file"
    if name == "SQLITE_ERROR" and str(orig).startswith("no such table: "):
        # SQLite has no result code of its own for a missing table: plain SQLITE_ERROR, whose
        # message is the only sign.
        return "no schema"
    return None


def _postgres_kind(exc: Exception, orig: BaseException | None) -> str | None:
    """What a psycopg error means for the ledger, by its class (SQLSTATE)."""
    if not isinstance(orig, _DriverError):
        return "lost" if getattr(exc, "connection_invalidated", False) else None
    if isinstance(orig, _pg_errors.RaiseException):
        # Only the append-only trigger function (ledger/store/append_only.py) raises in our schema.
        return "append-only"
    if isinstance(orig, _pg_errors.UndefinedTable):
        return "no schema"
    if isinstance(orig, _pg_errors.InvalidCatalogName | _pg_errors.InvalidAuthorizationSpecification):
        return "cannot connect"
    if getattr(exc, "connection_invalidated", False) or isinstance(
        orig, _pg_errors.AdminShutdown | _pg_errors.CrashShutdown | _pg_errors.ConnectionException
    ):
        return "lost"
    if isinstance(orig, _pg_errors.OperationalError) and getattr(orig, "sqlstate", None) is None:
        # No SQLSTATE: the client library failed, not a statement. Inside SQLAlchemy's
        # connect, the connection was never made; raw from the driver (the COPY path, on a
        # connection in use), it was lost.
        return "cannot connect" if isinstance(exc, DBAPIError) else "lost"
    return None
