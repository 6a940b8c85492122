"""Migration 0021: corrections have no index by key; a key's corrections are found through
its action's bucket. Undoing it brings the index back. On both backends the corrections
recorded before and after the round trip decide what a later correction of the key may do,
and on PostgreSQL the lookup probes the bucket index."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Connection, inspect

from ledger import Ledger
from ledger.domain import Action, Amendment
from ledger.errors import InvalidInput
from ledger.store import schema
from ledger.store.corrections import _probed_by_key, _states_query
from ledger.store.schema import migrate


def correction_indexes(conn: Connection) -> set[str]:
    return {index["name"] for index in inspect(conn).get_indexes("corrections") if index["name"]}


def key_lookup_plan(conn: Connection) -> str:
    """PostgreSQL's plan for one chunk of `_states`, as the write runs it."""
    compiled = _states_query(1, ["a", "b"], postgres=True).compile(conn)
    with _probed_by_key(conn):
        rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).all()
    return "\n".join(row[0] for row in rows)


def refusal(book: Ledger, key: str) -> str:
    with pytest.raises(InvalidInput) as refused:
        book.retract([key], at=datetime(2024, 3, 5))
    return refused.value.problems[0].reason


def test_a_keys_corrections_are_found_through_its_bucket_before_and_after_undoing_the_migration(database_url: str) -> None:
    book = Ledger.open(database_url)
    book.init()
    at = datetime(2024, 3, 1, 12)
    # Three keys in one bucket (user 1, the day, post_created) and one in another user's.
    book.record_actions([Action(source_key=f"post:{n}", user_id=1, action="post_created", occurred_at=at) for n in range(3)])
    book.record_actions([Action(source_key="post:9", user_id=2, action="post_created", occurred_at=at)])
    book.retract(["post:0"], at=datetime(2024, 3, 2))
    book.record_corrections([Amendment(source_key="post:1", at=datetime(2024, 3, 2), quantity=2)])
    with book.engine.begin() as conn:
        assert "ix_corrections_key" not in correction_indexes(conn)
        if conn.dialect.name == "postgresql":
            assert "ix_corrections_bucket" in key_lookup_plan(conn)
    states = book.action_states(["post:0", "post:1", "post:2", "post:9"])
    assert (states["post:0"].active, states["post:1"].quantity, states["post:2"].quantity) == (False, 2, 1)
    assert states["post:9"].active and states["post:9"].last_changed_at is None
    with book.engine.begin() as conn:
        migrate(conn, "0020", down=True)
        assert "ix_corrections_key" in correction_indexes(conn)
    schema.upgrade(book.engine)
    with book.engine.connect() as conn:
        assert "ix_corrections_key" not in correction_indexes(conn)
    assert "already retracted" in refusal(book, "post:0")
    book.retract(["post:1", "post:9"], at=datetime(2024, 3, 3))
    assert "already retracted" in refusal(book, "post:1")
    assert book.retract(["post:2"], at=datetime(2024, 3, 3)).new == 1
    book.close()
