"""Bulk loads: set a table's indexes aside while a large batch is written, then rebuild them.

Maintaining four B-trees row by row costs far more than building them once from sorted
input. So a batch that is large and at least as big as what the table already holds is
written with the indexes dropped, and they are rebuilt, from their own stored definitions,
inside the same transaction.

Nothing is weakened meanwhile: the writer holds the journal lock, the drop takes the table's
exclusive lock until commit, the batch's keys were already checked against each other and
against the ledger, and rebuilding a unique index re-checks every key, so any duplicate
still aborts the whole batch. The price is that readers of the table wait for the commit of
such a load, which is why only large initial-style loads take this path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection

from ledger.store.dialects import STALE_FRACTION, dialect_of

# A batch takes the bulk path when it has at least this many rows and at least as many as
# the table holds already (rebuilding costs time in proportion to the whole table).
BULK_MIN_ROWS = 500_000
# Batches smaller than this leave a table's statistics to autovacuum (see `statistics_stale`).
ANALYZE_MIN_ROWS = 10_000
# Memory for sorting during the rebuild (PostgreSQL: per transaction, via SET LOCAL).
REBUILD_MEMORY = "1GB"
# SQLite page cache while a large batch's rows are appended, in KiB.
SQLITE_WRITE_CACHE_KIB = 65_536
# Helper threads SQLite may use to sort while it rebuilds indexes (PRAGMA threads; SQLite
# caps it at what it was built with). SQLite sorts for CREATE INDEX in runs as large as the
# page cache and merges them, and the helper threads sort and merge runs at once: that helps
# with the default small cache, not with a large one (runs too large for the CPU's caches,
# and too few to share out), so the write cache is given back before the rebuild.
SQLITE_SORT_THREADS = 2


@dataclass(frozen=True)
class _SetAside:
    drop: list[str]
    rebuild: list[str]


class IndexesSetAside:
    """A table's indexes while `indexes_set_aside` holds them: `put_back` rebuilds them before
    the block ends, for a caller whose later steps no longer write to the table."""

    def __init__(self, conn: Connection, plan: _SetAside) -> None:
        self._conn = conn
        self._plan = plan
        self.back = False

    def put_back(self) -> None:
        """Rebuild the indexes now (once; the block's end then does nothing more)."""
        if self.back:
            return
        with sqlite_pragmas(self._conn, threads=SQLITE_SORT_THREADS):
            for statement in self._plan.rebuild:
                self._conn.exec_driver_sql(statement)
        self.back = True


def takes_bulk_path(conn: Connection, table: str, new_rows: int) -> bool:
    """Whether a batch of `new_rows` into `table` should rebuild indexes instead of updating them."""
    if new_rows < BULK_MIN_ROWS:
        return False
    return new_rows >= _estimated_rows(conn, table)


def statistics_stale(conn: Connection, table: str, new_rows: int) -> bool:
    """Whether a batch of `new_rows` written into `table` row by row (not by the bulk path,
    which analyzes) leaves the planner's statistics of it stale (`STALE_FRACTION` of its rows
    new; key lookups then planned as scans). Told the batch's size, unlike
    `Dialect.analyze_if_stale`, which reads the server's counts: a batch not yet committed is
    not in them."""
    return new_rows >= ANALYZE_MIN_ROWS and new_rows >= STALE_FRACTION * _estimated_rows(conn, table)


@contextmanager
def indexes_set_aside(conn: Connection, table: str, *, analyze: bool = True, keep: str | None = None) -> Iterator[IndexesSetAside]:
    """Drop `table`'s indexes for the body of the block, then rebuild them as they were
    (or earlier, through the `IndexesSetAside` it yields), and on PostgreSQL refresh the
    table's statistics unless `analyze` is false (for a caller that analyzes it right after
    anyway). The constraint named `keep` stays in place (for a writer that looks keys up in
    it while it writes).

    Only on the success path: if the body raises, the transaction rolls back and the drop
    with it.
    """
    plan = _plan(conn, table, keep)
    dialect_of(conn).set_local(conn, "maintenance_work_mem", REBUILD_MEMORY)
    for statement in plan.drop:
        conn.exec_driver_sql(statement)
    set_aside = IndexesSetAside(conn, plan)
    yield set_aside
    set_aside.put_back()
    if analyze:
        # A bulk load changes the table's shape more than autovacuum will notice soon:
        # without fresh statistics the planner takes millions of rows for a few thousand
        # (seen in replay's plans). ANALYZE samples the table, so it stays cheap at any size.
        dialect_of(conn).analyze(conn, table)


@contextmanager
def sqlite_write_cache(conn: Connection) -> Iterator[None]:
    """A large page cache for appending many rows to an SQLite table (the appended pages stay
    in memory until the transaction spills or commits them), the connection's own restored
    after. Not for rebuilding indexes: see SQLITE_SORT_THREADS."""
    with sqlite_pragmas(conn, cache_size=-SQLITE_WRITE_CACHE_KIB):
        yield


@contextmanager
def sqlite_pragmas(conn: Connection, **settings: int) -> Iterator[None]:
    """On SQLite, PRAGMA `name` = `value` for each of `settings` for the block, the previous
    values restored after; elsewhere nothing."""
    if not dialect_of(conn).is_sqlite:
        yield
        return
    previous = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar_one() for name in settings}
    for name, value in settings.items():
        conn.exec_driver_sql(f"PRAGMA {name} = {int(value)}")
    try:
        yield
    finally:
        for name, value in previous.items():
            conn.exec_driver_sql(f"PRAGMA {name} = {int(value)}")


def _estimated_rows(conn: Connection, table: str) -> int:
    # Sequence numbers are gap-free across all event tables, so for an append-only table
    # the largest one bounds the row count from above; the primary key answers in a lookup.
    return int(conn.exec_driver_sql(f"SELECT COALESCE(MAX(seq), 0) FROM {table}").scalar_one())


def _plan(conn: Connection, table: str, keep: str | None) -> _SetAside:
    if dialect_of(conn).is_postgresql:
        return _postgres_plan(conn, table, keep)
    return _sqlite_plan(conn, table)


def _postgres_plan(conn: Connection, table: str, keep: str | None) -> _SetAside:
    drop: list[str] = []
    rebuild: list[str] = []
    # Indexes that back a primary key or unique constraint go and come back as constraints.
    constraints = conn.exec_driver_sql(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = to_regclass(%(table)s) AND contype IN ('p', 'u') ORDER BY conname",
        {"table": table},
    ).all()
    for name, definition in constraints:
        if name == keep:
            continue
        drop.append(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        rebuild.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    indexes = conn.exec_driver_sql(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = to_regclass(%(table)s) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
        "ORDER BY c.relname",
        {"table": table},
    ).all()
    for name, definition in indexes:
        drop.append(f'DROP INDEX "{name}"')
        rebuild.append(definition)
    return _SetAside(drop, rebuild)


def _sqlite_plan(conn: Connection, table: str) -> _SetAside:
    # The unique constraint's automatic index cannot be dropped in SQLite; the named
    # secondary indexes can.
    indexes = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name",
        (table,),
    ).all()
    return _SetAside([f'DROP INDEX "{name}"' for name, _ in indexes], [sql for _, sql in indexes])
