"""The keyed chain: with SCORELEDGER_CHAIN_KEY set, each batch carries an HMAC of its hash,
and a history rewritten and rehashed by someone without the key fails `verify` even without
a digest (issue 23)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from ledger import Ledger
from ledger.errors import JournalBroken
from ledger.store.chain_key import KEY_VARIABLE
from ledger.store.tables import batches
from ledger.verify import JournalBreak
from tests.factories import action_row, csv_text
from tests.tampering import rehash_everything, tamper

KEY = "correct horse battery staple"


def _ingest(book: Ledger, tmp_path: Path, name: str, *keys: str) -> None:
    path = tmp_path / f"{name}.csv"
    path.write_text(csv_text([action_row(key, user=1) for key in keys]))
    book.ingest_file(str(path))


def _break(book: Ledger) -> str:
    with pytest.raises(JournalBroken) as caught:
        book.verify()
    assert isinstance(caught.value.place, JournalBreak)
    return caught.value.place.what


@pytest.fixture
def keyed(book: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    _ingest(book, tmp_path, "before", "old")  # written before the key was set up
    monkeypatch.setenv(KEY_VARIABLE, KEY)
    _ingest(book, tmp_path, "one", "a", "b")
    _ingest(book, tmp_path, "two", "c")
    return book


def test_a_keyed_journal_verifies_and_the_key_is_not_stored(keyed: Ledger, cli) -> None:
    result = keyed.verify()
    assert (result.batches, result.keyed_batches) == (3, 2)
    assert "2 batch(es) carry a valid chain-key MAC" in cli("verify").stdout
    with keyed.engine.connect() as conn:
        macs = conn.execute(select(batches.c.mac).order_by(batches.c.batch_id)).scalars().all()
        dump = "\n".join(str(row) for table in ("batches", "actions") for row in conn.exec_driver_sql(f"SELECT * FROM {table}"))
    assert macs[0] is None and all(macs[1:])
    assert KEY not in dump


def test_verify_without_the_key_says_the_macs_were_not_checked(keyed: Ledger, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_VARIABLE)
    tamper(keyed, "UPDATE actions SET quantity = 50 WHERE source_key = 'a'")
    rehash_everything(keyed)
    result = keyed.verify()
    assert (result.keyed_batches, result.unchecked_macs) == (0, 2)
    assert "2 batch(es) carry a chain-key MAC, not checked: SCORELEDGER_CHAIN_KEY is not set" in cli("verify").stdout


def test_a_rewritten_and_rehashed_history_fails_with_the_key(keyed: Ledger) -> None:
    tamper(keyed, "UPDATE actions SET quantity = 50 WHERE source_key = 'a'")
    rehash_everything(keyed)
    assert _break(keyed) == "MAC mismatch"


def test_removed_macs_and_unkeyed_batches_fail_with_the_key(keyed: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_VARIABLE)
    _ingest(keyed, tmp_path, "three", "d")  # a writer without the key
    assert keyed.verify().keyed_batches == 0  # without the key, MACs are not checked
    monkeypatch.setenv(KEY_VARIABLE, KEY)
    assert _break(keyed) == "unkeyed batch"


def test_a_journal_stripped_of_every_mac_fails_with_the_key(keyed: Ledger) -> None:
    tamper(keyed, "UPDATE batches SET mac = NULL")
    assert _break(keyed) == "unkeyed head"


def test_another_key_fails(keyed: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VARIABLE, "another key")
    assert _break(keyed) == "MAC mismatch"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sqlite_refuses_a_mac_of_another_type(keyed: Ledger) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError, match="CHECK"):
        tamper(keyed, "UPDATE batches SET mac = X'00' WHERE batch_id = 2")
