"""A large batch of corrections looks its keys up in two sessions at once on PostgreSQL
(ledger/store/corrections.py `_states`): the states it checks against, the problems it reports
and what it writes are those of one session; SQLite keeps to the caller's session."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.pool import QueuePool

from ledger import Action, Ledger
from ledger.domain import Amendment, Reinstatement, Retraction
from ledger.errors import InvalidInput
from ledger.store import corrections

KEYS = [f"post:{n}" for n in range(8)]


@pytest.fixture
def looked_up_beside(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every batch of keys from two up is split; returns the keys each second session looked up."""
    seen: list[list[str]] = []
    in_own_session = corrections._states_in_own_session

    def watched(engine, number: int, keys: list[str]):
        seen.append(list(keys))
        return in_own_session(engine, number, keys)

    monkeypatch.setattr(corrections, "SPLIT_LOOKUP_FROM", 2)
    monkeypatch.setattr(corrections, "_states_in_own_session", watched)
    return seen


def test_a_split_lookup_checks_and_writes_as_one_session(book: Ledger, looked_up_beside: list[list[str]]) -> None:
    book.init()
    day = datetime(2024, 3, 1, 12)
    book.record_actions([Action(source_key=key, user_id=n % 3 + 1, action="post_created", occurred_at=day) for n, key in enumerate(KEYS)])
    book.record_corrections(
        [
            Retraction(source_key="post:0", at=datetime(2024, 3, 2)),
            Retraction(source_key="post:1", at=datetime(2024, 3, 2)),
            Amendment(source_key="post:6", at=datetime(2024, 3, 2), quantity=3),
        ]
    )
    book.record_corrections([Reinstatement(source_key="post:0", at=datetime(2024, 3, 3))])

    # post:1 is retracted already, in whichever half it falls: the whole batch is refused.
    batch = [Retraction(source_key=key, at=datetime(2024, 3, 4)) for key in KEYS]
    with pytest.raises(InvalidInput) as refused:
        book.record_corrections(batch)
    assert [problem.reason for problem in refused.value.problems] == ["'post:1': already retracted"]
    assert book.action_states(["post:0"])["post:0"].active

    written = book.record_corrections([item for item in batch if item.source_key != "post:1"])
    assert written.new == 7
    states = book.action_states(KEYS)
    assert [states[key].active for key in KEYS] == [False] * 8
    assert states["post:0"].last_changed_at == datetime(2024, 3, 4)
    assert states["post:6"].quantity == 3

    if book.engine.dialect.name == "postgresql":
        # The first batch, the refused one and the written one each sent their second half beside.
        assert looked_up_beside == [["post:1", "post:6"], KEYS[4:], [key for key in KEYS if key != "post:1"][3:]]
    else:
        assert looked_up_beside == []


def test_a_read_of_states_keeps_to_its_own_snapshot(book: Ledger, looked_up_beside: list[list[str]]) -> None:
    book.init()
    book.record_actions([Action(source_key=key, user_id=1, action="post_created", occurred_at=datetime(2024, 3, 1)) for key in KEYS])
    assert len(book.action_states(KEYS)) == 8
    assert looked_up_beside == []


def test_a_batch_keeps_to_its_own_session_when_the_pool_has_no_connection_to_spare(
    database_url: str, looked_up_beside: list[list[str]]
) -> None:
    """Writers queued behind the journal lock may hold every pooled connection: waiting for
    one of them would wait for the lock this batch holds."""
    book = Ledger.open(database_url)
    book.init()
    book.record_actions([Action(source_key=key, user_id=1, action="post_created", occurred_at=datetime(2024, 3, 1)) for key in KEYS])
    pool = book.engine.pool
    assert isinstance(pool, QueuePool)
    held = [book.engine.connect() for _ in range(pool.size() - 1)]
    try:
        written = book.record_corrections([Retraction(source_key=key, at=datetime(2024, 3, 2)) for key in KEYS])
    finally:
        for conn in held:
            conn.close()
    assert written.new == 8
    assert looked_up_beside == []
    book.close()
