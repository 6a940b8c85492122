"""Migration 0021: on PostgreSQL corrections' source keys compare bytewise, as actions' do, so
a lookup of keys probes ix_corrections_key from the actions' keys; undoing it restores the
database's collation. On both backends the corrections recorded before the round trip still
decide what a later retraction may do."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Connection

from ledger import Ledger
from ledger.domain import Action
from ledger.errors import InvalidInput
from ledger.store import schema
from ledger.store.corrections import _probed_by_key
from tests.factories import migrate


def key_collation(conn: Connection) -> str | None:
    """corrections.source_key's collation on PostgreSQL: None for the database's own."""
    return conn.exec_driver_sql(
        "SELECT collation_name FROM information_schema.columns WHERE table_name = 'corrections' AND column_name = 'source_key'"
    ).scalar()


def key_lookup_plan(conn: Connection) -> str:
    """PostgreSQL's plan for the join `_states` runs, as the write runs it."""
    with _probed_by_key(conn):
        rows = conn.exec_driver_sql(
            "EXPLAIN SELECT a.source_key, c.kind FROM actions a LEFT JOIN corrections c"
            " ON c.ledger_id = a.ledger_id AND c.source_key = a.source_key"
            " WHERE a.ledger_id = 1 AND a.source_key = ANY(CAST(%s AS VARCHAR[]))",
            (["a", "b"],),
        ).all()
    return "\n".join(row[0] for row in rows)


def test_keys_compare_bytewise_and_undoing_the_migration_restores_the_collation(database_url: str) -> None:
    book = Ledger.open(database_url)
    book.init()
    at = datetime(2024, 3, 1, 12)
    book.record_actions([Action(source_key=f"post:{n}", user_id=1, action="post_created", occurred_at=at) for n in range(3)])
    book.retract(["post:0"], at=datetime(2024, 3, 2))
    postgres = book.engine.dialect.name == "postgresql"
    if postgres:
        with book.engine.begin() as conn:
            assert key_collation(conn) == "C"
            assert "ix_corrections_key" in key_lookup_plan(conn)
    with book.engine.begin() as conn:
        migrate(conn, "0020", down=True)
        if postgres:
            assert key_collation(conn) is None
    schema.upgrade(book.engine)
    if postgres:
        with book.engine.connect() as conn:
            assert key_collation(conn) == "C"
    with pytest.raises(InvalidInput) as refused:
        book.retract(["post:0"], at=datetime(2024, 3, 3))
    assert "already retracted" in refused.value.problems[0].reason
    assert book.retract(["post:1"], at=datetime(2024, 3, 3)).new == 1
    book.close()
