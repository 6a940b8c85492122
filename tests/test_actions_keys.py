"""The keys of actions that lead with the column telling rows apart (migration 0007): the
upgrade builds them in that order and still refuses a repeated (ledger, source_key), and
undoing it brings back the keys led by ledger_id. Undoing 0008 first brings back the user/day
key without the audit's columns."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import Connection, inspect

from ledger import Ledger
from ledger.store import schema
from ledger.store.engine import open_engine
from ledger.store.schema import migrate
from tests.test_full_rebuild import ledger_with_likes


def _keys_of_actions(conn: Connection) -> dict[str | None, Sequence[str | None]]:
    found = inspect(conn)
    keys: dict[str | None, Sequence[str | None]] = {index["name"]: index["column_names"] for index in found.get_indexes("actions")}
    keys.update({unique["name"]: unique["column_names"] for unique in found.get_unique_constraints("actions")})
    keys.pop("ix_actions_replay", None)
    return keys


def test_the_upgrade_reorders_the_keys_and_undoing_it_restores_them(database_url: str) -> None:
    book = Ledger.open(database_url)
    ledger_with_likes(book, "default", value=2, users=range(1, 3))
    audited = book.audit(1)
    with book.engine.connect() as conn:
        keys = _keys_of_actions(conn)
        # The user/day key carries the audit's columns since 0008 (tests/test_audit_properties.py).
        assert keys.pop("ix_actions_user_history")[:3] == ["user_id", "ledger_id", "day"]
        assert keys == {"uq_actions_source_key_ledger": ["source_key", "ledger_id"]}
    with book.engine.begin() as conn:
        migrate(conn, "0007", down=True)
        assert _keys_of_actions(conn) == {
            "ix_actions_user_ledger_day": ["user_id", "ledger_id", "day"],
            "uq_actions_source_key_ledger": ["source_key", "ledger_id"],
        }
    with book.engine.begin() as conn:
        migrate(conn, "0006", down=True)
        assert _keys_of_actions(conn) == {
            "ix_actions_ledger_user_day": ["ledger_id", "user_id", "day"],
            "uq_actions_ledger_source_key": ["ledger_id", "source_key"],
        }
    schema.upgrade(book.engine)
    book.recalc()
    assert {s.user_id: s.points for s in book.scores()} == {1: 10, 2: 10}
    assert book.audit(1) == audited
    book.close()


def test_the_reordered_unique_key_still_refuses_a_repeated_source_key(database_url: str) -> None:
    book = Ledger.open(database_url)
    ledger_with_likes(book, "default", value=2, users=range(1, 2))
    engine = open_engine(database_url)
    with engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT seq, batch_id, ledger, ledger_id, source_key FROM actions ORDER BY seq LIMIT 1").one()
    with pytest.raises(Exception, match="(?i)unique|duplicate"), engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO actions (seq, batch_id, ledger, ledger_id, source_key, user_id, action, occurred_at, day, "
            "quantity, attributes, recorded_at) SELECT MAX(seq) + 100, MAX(batch_id), MIN(ledger), MIN(ledger_id), "
            f"'{row.source_key}', 9, 'likes_received', MIN(occurred_at), MIN(day), 1, '{{}}', MIN(recorded_at) FROM actions"
        )
    engine.dispose()
    book.close()
