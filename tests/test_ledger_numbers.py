"""Ledgers are named by number in the keys of actions and of the projections (migration 0006):
numbers are one per ledger, upgrading numbers the actions already recorded, and a ledger that
was never written to reads as empty."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from ledger import Ledger, Rule
from ledger.store import ledger_numbers, schema
from ledger.store.engine import open_engine
from ledger.store.schema import migrate
from ledger.store.tables import actions
from tests.test_full_rebuild import ledger_with_likes

# A time as the ledger stores it (SQLite checks the spelling, migration 0019).
STORED_TIME = "2024-01-01 00:00:00.000000"


def test_each_ledger_gets_its_own_number_once(book: Ledger) -> None:
    ledger_with_likes(book, "default", value=1, users=range(1, 4))
    other = ledger_with_likes(book, "other", value=2, users=range(1, 3))
    first = ledger_numbers.ensure(book.engine, "default")
    assert ledger_numbers.ensure(book.engine, "default") == first
    assert ledger_numbers.ensure(book.engine, "other") not in (first, ledger_numbers.UNNUMBERED)
    with book.engine.connect() as conn:
        stored = {row.ledger: row.ledger_id for row in conn.execute(select(actions.c.ledger, actions.c.ledger_id).distinct())}
    assert stored == {"default": first, "other": ledger_numbers.ensure(book.engine, "other")}
    book.recalc()
    other.recalc()
    assert {s.user_id: s.points for s in book.scores()} == {1: 5, 2: 5, 3: 5}
    assert {s.user_id: s.points for s in other.scores()} == {1: 10, 2: 10}


def test_a_ledger_never_written_to_reads_as_empty(book: Ledger) -> None:
    ledger_with_likes(book, "default", value=1, users=range(1, 4))
    book.recalc()
    stranger = Ledger(book.engine, "stranger")
    with book.engine.connect() as conn:
        assert ledger_numbers.number_of(conn, "stranger") == ledger_numbers.UNNUMBERED
    assert stranger.leaderboard() == []
    assert stranger.audit(1) == []


def test_upgrading_numbers_the_recorded_actions(empty_database_url: str) -> None:
    engine = open_engine(empty_database_url)
    with engine.begin() as conn:
        migrate(conn, "0005")
        for ledger, seq in (("zeta", 1), ("alpha", 2), ("zeta", 3)):
            conn.execute(
                text(
                    "INSERT INTO batches (batch_id, ledger, kind, recorded_at, first_seq, last_seq, event_count) "
                    "VALUES (:seq, :ledger, 'actions', :at, :seq, :seq, 1)"
                ),
                {"seq": seq, "ledger": ledger, "at": STORED_TIME},
            )
            conn.execute(
                text(
                    "INSERT INTO actions (seq, batch_id, ledger, source_key, user_id, action, occurred_at, day, "
                    "quantity, attributes, recorded_at) VALUES (:seq, :seq, :ledger, :key, 7, 'likes_received', "
                    ":at, :day, 1, '{}', :at)"
                ),
                {"seq": seq, "ledger": ledger, "key": f"k{seq}", "at": STORED_TIME, "day": "2024-01-01"},
            )
    schema.upgrade(engine)
    with engine.connect() as conn:
        numbers = {ledger: ledger_numbers.number_of(conn, ledger) for ledger in ("alpha", "zeta")}
        stored = conn.execute(select(actions.c.seq, actions.c.ledger, actions.c.ledger_id).order_by(actions.c.seq)).all()
    assert len(set(numbers.values())) == 2 and ledger_numbers.UNNUMBERED not in numbers.values()
    assert [(seq, ledger_id) for seq, _, ledger_id in stored] == [(seq, numbers[ledger]) for seq, ledger, _ in stored]
    # The append-only trigger set aside for the upgrade is back.
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(text("UPDATE actions SET quantity = 2 WHERE seq = 1"))
    book = Ledger(engine, "zeta")
    book.set_schedule(date(2024, 1, 1), {"likes_received": Rule(value=3)}, retroactive=True)
    book.recalc()
    assert {s.user_id: s.points for s in book.scores()} == {7: 6}
    engine.dispose()


def test_the_upgrade_can_be_undone_and_redone(database_url: str) -> None:
    book = Ledger.open(database_url)
    ledger_with_likes(book, "default", value=2, users=range(1, 3))
    book.recalc()
    with book.engine.begin() as conn:
        migrate(conn, "0005", down=True)
        assert conn.execute(text("SELECT COUNT(*) FROM actions WHERE ledger = 'default'")).scalar_one() == 10
    schema.upgrade(book.engine)
    book.recalc()
    assert {s.user_id: s.points for s in book.scores()} == {1: 10, 2: 10}
    book.close()
