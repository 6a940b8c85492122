"""Migration 0020: on PostgreSQL period_totals' key leaves points out and its pages keep room
for updates in place; undoing it puts points back into the key. On both backends the round
trip keeps every period leaderboard, and an incremental recalc after it moves period rows as
before."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection

from ledger import Ledger
from ledger.domain import Action
from ledger.standings import ROLLUP_PERIODS, Period
from ledger.store import schema
from ledger.store.schema import migrate
from tests.test_full_rebuild import ledger_with_likes


def period_key_shape(conn: Connection) -> tuple[str, list[str] | None] | None:
    """pk_period_totals' definition and the storage options of the table, or of its parts
    (migration 0022); None on SQLite."""
    if conn.dialect.name != "postgresql":
        return None
    row = conn.exec_driver_sql(
        "SELECT pg_get_indexdef('pk_period_totals'::regclass), (SELECT array_agg(DISTINCT o) FROM pg_class c, unnest(c.reloptions) o "
        "WHERE c.oid = 'period_totals'::regclass OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'period_totals'::regclass))"
    ).one()
    return row[0], row[1]


def boards(book: Ledger) -> dict[Period, list]:
    return {period: book.leaderboard(period=period, at=date(2024, 3, 3)) for period in ROLLUP_PERIODS}


def test_the_period_key_leaves_points_out_and_undoing_the_migration_puts_them_back(database_url: str) -> None:
    book = Ledger.open(database_url)
    ledger = ledger_with_likes(book, "default", value=3, users=range(1, 5))
    ledger.recalc()
    before = boards(ledger)
    assert before[Period.year], "the ledger has period rows to keep"
    with book.engine.connect() as conn:
        shape = period_key_shape(conn)
    if shape is not None:
        definition, options = shape
        assert "INCLUDE" not in definition
        assert options == ["fillfactor=90"]
    with book.engine.begin() as conn:
        migrate(conn, "0019", down=True)
        undone = period_key_shape(conn)
    if undone is not None:
        assert undone[0].endswith("(ledger_id, period_months, period_start, user_id) INCLUDE (points)")
        assert undone[1] is None
    schema.upgrade(book.engine)
    with book.engine.connect() as conn:
        assert period_key_shape(conn) == shape
    assert boards(ledger) == before
    # An incremental recalc moves the rows of the period the new action falls in.
    ledger.record_actions([Action(source_key="late", user_id=4, action="likes_received", occurred_at=datetime(2024, 3, 2, 12))])
    ledger.recalc()
    after = boards(ledger)
    for period in before:
        points = {row.user_id: row.points for row in after[period]}
        assert points[4] == {row.user_id: row.points for row in before[period]}[4] + 3
    book.close()
