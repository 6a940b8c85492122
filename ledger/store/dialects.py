"""What SQLite and PostgreSQL do differently, behind one small interface per backend.

Everything else asks `dialect_of(conn)` and calls what it needs: the steps that only matter
to PostgreSQL's planner or locks (session settings, ANALYZE of fresh tables, advisory
locks, snapshots) are no-ops on SQLite, where one process owns the file and the planner
keeps no statistics worth refreshing mid-transaction. Statements that differ live in
sql/postgresql/ and sql/sqlite/ under the names `name` selects (ledger/sqlfiles.py);
docs/design.md lists the rest (bulk writes, rebuilds in parts, typed columns).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

# Names and settings spliced into statements here come from our own code; these checks make
# sure nothing else ever does.
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_SETTINGS = frozenset(
    {
        "work_mem",
        "maintenance_work_mem",
        "jit",
        "enable_hashagg",
        "enable_sort",
        "enable_nestloop",
        "enable_hashjoin",
        "enable_mergejoin",
        "max_parallel_workers_per_gather",
        "random_page_cost",
    }
)
_SETTING_VALUE = re.compile(r"^[A-Za-z0-9]+$")


def _identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a table or column name of ours: {name!r}")
    return name


def _identifiers(names: Iterable[str]) -> str:
    return ", ".join(_identifier(name) for name in names)


def _setting(setting: str, value: str | None = None) -> str:
    if setting not in _SETTINGS or (value is not None and not _SETTING_VALUE.match(value)):
        raise ValueError(f"not a session setting of ours: {setting!r} = {value!r}")
    return setting if value is None else f"{setting} = '{value}'"


# The share of a table's rows that, once changed, makes its planner statistics stale:
# autovacuum's own default, which a server running without autovacuum never reaches.
STALE_FRACTION = 0.1


class Dialect:
    """The SQLite behaviour; `PostgreSQL` overrides what differs."""

    name = "sqlite"
    is_postgresql = False
    is_sqlite = True

    def set_local(self, conn: Connection, setting: str, value: str) -> None:
        """A planner or memory setting for the rest of the transaction."""

    def reset(self, conn: Connection, setting: str) -> None:
        """Back to the session's value of a setting `set_local` changed."""

    def analyze(self, conn: Connection, *tables: str) -> None:
        """Fresh planner statistics for tables that just changed shape."""

    def analyze_if_stale(self, conn: Connection, table: str) -> None:
        """`analyze` `table` if STALE_FRACTION of its rows or more changed since its statistics
        were taken (or it has none), as autovacuum would, but now: rows just written and read
        at once would otherwise be planned as a table of a few rows, hashed or scanned whole
        where its index would find the few buckets or days asked for."""

    def lock_exclusively(self, conn: Connection, key: int) -> None:
        """Serialise writers on `key` for the transaction (SQLite's BEGIN IMMEDIATE already does)."""

    def wait_for_writers(self, conn: Connection, *tables: str) -> None:
        """Queue behind a writer that holds `tables` before the transaction's snapshot is taken."""

    def repeatable_snapshot(self, conn: Connection) -> None:
        """One snapshot for every statement of the transaction (SQLite's read transaction is one)."""

    def empty_tables(self, conn: Connection, *tables: str) -> None:
        # Without a WHERE clause SQLite empties a table wholesale, as TRUNCATE does.
        for name in tables:
            conn.exec_driver_sql(f"DELETE FROM {_identifier(name)}")


class PostgreSQL(Dialect):
    name = "postgresql"
    is_postgresql = True
    is_sqlite = False

    def set_local(self, conn: Connection, setting: str, value: str) -> None:
        conn.exec_driver_sql(f"SET LOCAL {_setting(setting, value)}")

    def reset(self, conn: Connection, setting: str) -> None:
        conn.exec_driver_sql(f"RESET {_setting(setting)}")

    def analyze(self, conn: Connection, *tables: str) -> None:
        conn.exec_driver_sql(f"ANALYZE {_identifiers(tables)}")

    def analyze_if_stale(self, conn: Connection, table: str) -> None:
        stale = conn.exec_driver_sql(
            "SELECT n_mod_since_analyze >= %s * GREATEST(c.reltuples, 0) + 50 "
            "FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.relid = CAST(%s AS regclass)",
            (STALE_FRACTION, table),
        ).scalar()
        if stale:
            self.analyze(conn, table)

    def lock_exclusively(self, conn: Connection, key: int) -> None:
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (key,))

    def wait_for_writers(self, conn: Connection, *tables: str) -> None:
        # LOCK takes no snapshot, so the next statement's snapshot sees what the writer committed.
        conn.exec_driver_sql(f"LOCK TABLE {_identifiers(tables)} IN ACCESS SHARE MODE")

    def repeatable_snapshot(self, conn: Connection) -> None:
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")

    def empty_tables(self, conn: Connection, *tables: str) -> None:
        conn.exec_driver_sql(f"TRUNCATE {_identifiers(tables)}")


_DIALECTS = {dialect.name: dialect for dialect in (Dialect(), PostgreSQL())}


def dialect_of(bind: Connection | Engine) -> Dialect:
    """The backend a connection or engine talks to."""
    return _DIALECTS[bind.dialect.name]


@contextmanager
def planner_settings(conn: Connection, **settings: str) -> Iterator[None]:
    """Planner `settings` (PostgreSQL's names) for the block's statements, back to the
    session's values after it; nothing on SQLite."""
    dialect = dialect_of(conn)
    for setting, value in settings.items():
        dialect.set_local(conn, setting, value)
    yield
    for setting in settings:
        dialect.reset(conn, setting)
