"""Migration 0009: on PostgreSQL the projections are UNLOGGED tables and the events stay
logged; undoing it makes the projections logged again. On both backends the round trip
keeps every score. (What a server crash does to unlogged projections: tests/test_crash.py.)"""

from __future__ import annotations

from sqlalchemy import Connection, text

from ledger import Ledger
from ledger.store import schema
from ledger.store.schema import migrate
from ledger.store.tables import PROJECTION_TABLES
from tests.test_full_rebuild import ledger_with_likes


def unlogged_tables(conn: Connection) -> set[str] | None:
    """The schema's unlogged tables, a part of daily_scores named as daily_scores (migration
    0022); None where the backend has none (SQLite)."""
    if conn.dialect.name != "postgresql":
        return None
    rows = conn.exec_driver_sql(
        "SELECT coalesce(r.relname, c.relname) AS relname FROM pg_class c "
        "LEFT JOIN pg_class r ON c.relispartition AND r.oid = pg_partition_root(c.oid) "
        "WHERE c.relkind = 'r' AND c.relpersistence = 'u' AND c.relnamespace = current_schema()::regnamespace"
    )
    return {row.relname for row in rows}


def test_projections_are_unlogged_and_undoing_the_migration_logs_them_again(database_url: str) -> None:
    book = Ledger.open(database_url)
    ledger_with_likes(book, "default", value=3, users=range(1, 4))
    book.recalc()
    scores = book.scores()
    postgres = book.engine.dialect.name == "postgresql"
    with book.engine.connect() as conn:
        unlogged = unlogged_tables(conn)
    if postgres:
        assert unlogged == set(PROJECTION_TABLES)  # and so no event table
    with book.engine.begin() as conn:
        migrate(conn, "0008", down=True)
        assert unlogged_tables(conn) == (set() if postgres else None)
    # The rows survive the rewrite (read directly: the code expects the newest schema).
    with book.engine.connect() as conn:
        totals = conn.execute(text("SELECT user_id, points FROM user_totals ORDER BY user_id")).all()
    assert [tuple(row) for row in totals] == [(s.user_id, s.points) for s in scores]
    schema.upgrade(book.engine)
    with book.engine.connect() as conn:
        assert unlogged_tables(conn) == unlogged
    assert book.scores() == scores
    book.close()
