"""User keys of any form (ledger/user_keys.py, migration 0015): UUIDs, ids longer than 64
bits, any text, next to integer ids, in files, commands and outputs; names shown by
`scores`, `leaderboard` and `audit`; the mapping covered by `verify`."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from ledger import Ledger, Rule
from ledger.domain import MAX_INTEGER, Action, Adjustment, UserNames, now_utc
from ledger.errors import InvalidInput, JournalBroken, UnknownUser
from ledger.store.engine import open_engine
from ledger.store.schema import migrate
from ledger.store.tables import actions, user_keys
from ledger.user_keys import FIRST_ALLOCATED, direct_number, user_ref
from tests.factories import csv_text
from tests.tampering import tamper

UUID = "6f1c2d9e-0b7a-4a53-9c1e-3f6f0d2b8a11"
LONG = "1234567890123456789012345678901234567890"  # beyond 64 bits, as Starmind's ids


def write(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return str(path)


def rows(*users: str) -> list[list[str]]:
    return [[f"k{index}", user, "post", f"2024-05-{index % 28 + 1:02d}T12:00:00", "1", ""] for index, user in enumerate(users)]


def priced(book: Ledger) -> Ledger:
    book.set_schedule(date(2024, 1, 1), {"post": Rule(value=10)}, retroactive=True)
    book.recalc()
    return book


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("42", 42),
        (" 42 ", 42),
        ("-7", -7),
        ("0", 0),
        (str(MAX_INTEGER), MAX_INTEGER),
        (str(MAX_INTEGER + 1), str(MAX_INTEGER + 1)),
        ("042", "042"),
        ("+42", "+42"),
        ("-0", "-0"),
        ("4_2", "4_2"),
        (UUID, UUID),
        (LONG, LONG),
        (42, 42),
        (2**60, str(2**60)),
    ],
)
def test_canonical_integers_are_their_own_number_and_everything_else_a_text_key(given: object, expected: object) -> None:
    assert user_ref(given) == expected
    assert type(user_ref(given)) is type(expected)


@pytest.mark.parametrize("bad", ["", "   ", "a\x00b", "\ud800", "x" * 201, True, 4.5, None])
def test_keys_that_name_no_user_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        user_ref(bad)


def test_direct_number_reads_only_the_integers_own_spelling() -> None:
    assert direct_number("17") == 17
    assert [direct_number(key) for key in ("017", "+17", " 17", "١٧", "-0", "1e3")] == [None] * 6


def test_uuid_long_and_text_keys_next_to_integer_ids(book: Ledger, tmp_path: Path) -> None:
    book.ingest_file(write(tmp_path, "a.csv", csv_text(rows("42", UUID, LONG, "alice", "alice", "42"))))
    priced(book)
    assert {row.user_id: row.points for row in book.scores()} == {42: 20, UUID: 10, LONG: 10, "alice": 20}
    board = book.leaderboard()
    assert [(row.rank, row.user_id) for row in board] == [(1, 42), (1, "alice"), (2, UUID), (2, LONG)]
    assert [line.source_key for line in book.audit(UUID)] == ["k1"]
    assert [line.running_total for line in book.audit("alice")] == [10, 20]
    # Integer users keep their integer as the number stored; the others get numbers past it.
    with book.engine.connect() as conn:
        stored = dict(conn.execute(select(actions.c.source_key, actions.c.user_id)).all())
        mapped = dict(conn.execute(select(user_keys.c.user_key, user_keys.c.user_number)).all())
    assert stored["k0"] == 42
    assert mapped == {UUID: FIRST_ALLOCATED, LONG: FIRST_ALLOCATED + 1, "alice": FIRST_ALLOCATED + 2}
    assert stored["k1"] == FIRST_ALLOCATED


def test_keys_keep_their_numbers_across_batches_and_ledgers(book: Ledger, tmp_path: Path) -> None:
    book.ingest_file(write(tmp_path, "a.csv", csv_text(rows(UUID, "bob"))))
    again = book.ingest_file(write(tmp_path, "a.csv", csv_text(rows(UUID, "bob"))))
    assert (again.new, again.already_present) == (0, 2)
    book.record_actions([Action(source_key="later", user_id="bob", action="post", occurred_at=datetime(2024, 6, 1))])
    other = Ledger(book.engine, "other")
    other.record_actions([Action(source_key="x", user_id="carol", action="post", occurred_at=datetime(2024, 6, 1))])
    with book.engine.connect() as conn:
        mapped = [
            tuple(row)
            for row in conn.execute(select(user_keys.c.ledger, user_keys.c.user_key, user_keys.c.user_number).order_by(user_keys.c.seq))
        ]
    assert mapped == [("default", UUID, FIRST_ALLOCATED), ("default", "bob", FIRST_ALLOCATED + 1), ("other", "carol", FIRST_ALLOCATED)]
    priced(book)
    assert {row.user_id: row.points for row in book.scores()} == {UUID: 10, "bob": 20}


def test_a_key_given_for_a_recorded_action_with_another_user_is_refused(book: Ledger, tmp_path: Path) -> None:
    book.ingest_file(write(tmp_path, "a.csv", csv_text(rows("alice"))))
    with pytest.raises(InvalidInput) as caught:
        book.ingest_file(write(tmp_path, "b.csv", csv_text(rows("bob"))))
    assert caught.value.problems[0].field == "user_id"
    assert "recorded alice, given bob" in caught.value.problems[0].reason
    with book.engine.connect() as conn:
        assert conn.execute(select(user_keys.c.user_key)).scalars().all() == ["alice"]


def test_bad_keys_in_a_file_are_named_with_their_line(book: Ledger, tmp_path: Path) -> None:
    body = csv_text(rows("ok", "x" * 201, " "))
    with pytest.raises(InvalidInput) as caught:
        book.ingest_file(write(tmp_path, "bad.csv", body))
    assert [(problem.line, problem.field) for problem in caught.value.problems] == [(3, "user_id"), (4, "user_id")]
    assert "longer than 200" in caught.value.problems[0].reason


def test_adjustments_merges_and_exclusions_take_keys(book: Ledger, tmp_path: Path) -> None:
    book.ingest_file(write(tmp_path, "a.csv", csv_text(rows(UUID, "alice", "7"))))
    priced(book)

    book.record_adjustments([Adjustment(key="bonus", user_id=LONG, points=5, on=date(2024, 6, 1), reason="welcome")])
    assert [(a.key, a.user_id) for a in book.adjustments(user_id=LONG)] == [("bonus", LONG)]
    again = book.record_adjustments([Adjustment(key="bonus", user_id=LONG, points=5, on=date(2024, 6, 1), reason="welcome")])
    assert (again.new, again.already_present) == (0, 1)
    before_merge = now_utc()
    book.merge_users("alice", UUID, at=datetime(2024, 7, 1))
    assert {row.user_id: row.points for row in book.scores()} == {UUID: 20, 7: 10, LONG: 5}
    assert {line.merged_from for line in book.audit(UUID)} == {None, "alice"}
    assert [row.user_id for row in book.leaderboard(exclude=[UUID, "nobody", "7"])] == [LONG]
    apart = {row.user_id: row.points for row in book.scores(as_known_at=before_merge)}
    assert apart == {UUID: 10, "alice": 10, 7: 10, LONG: 5}
    with pytest.raises(InvalidInput):
        book.audit("alice")  # merged: its target is audited
    with pytest.raises(UnknownUser):
        book.audit("nobody")


def test_names_are_imported_idempotently_and_shown(book: Ledger, tmp_path: Path) -> None:
    book.ingest_file(write(tmp_path, "a.csv", csv_text(rows(UUID, "42"))))
    priced(book)
    first = book.import_users_file(write(tmp_path, "users.csv", f"user,username,name\n{UUID},ann,Ann Smith\n42,,The Answer\n"))
    assert (first.new, first.already_present) == (2, 0)
    again = book.import_users_file(write(tmp_path, "users.csv", f"user,username,name\n{UUID},ann,Ann Smith\n42,,The Answer\n"))
    assert (again.new, again.already_present) == (0, 2)
    jsonl = json.dumps({"user": UUID, "username": "ann2", "name": "Ann Smith"}) + "\n"
    assert book.import_users_file(write(tmp_path, "users.jsonl", jsonl)).new == 1
    shown = {row.user_id: (row.username, row.name) for row in book.scores()}
    assert shown == {UUID: ("ann2", "Ann Smith"), 42: (None, "The Answer")}
    assert {row.user_id: row.username for row in book.leaderboard()} == {UUID: "ann2", 42: None}
    assert book.names_of(UUID) == UserNames(user=UUID, username="ann2", name="Ann Smith")
    with pytest.raises(InvalidInput) as caught:
        book.import_users_file(write(tmp_path, "bad.csv", "user,username,nick\n1,a,b\n"))
    assert caught.value.problems[0].line == 2


def test_cli_names_users_by_key_everywhere(cli, tmp_path: Path) -> None:
    cli("ingest", write(tmp_path, "a.csv", csv_text(rows(UUID, LONG, "3"))))
    cli("schedule", "set", "--effective-from", "2024-01-01", "post=10", "--new-action", "--retroactive")
    cli("users", "import", write(tmp_path, "u.csv", f"user,username,name\n{UUID},ann,Ann\n"))
    cli("adjust", LONG, "--on", "2024-06-01", "--reason", "bonus", "--", "5")
    scores = json.loads(cli("scores", "--format", "json").stdout)
    assert scores == [
        {"user_id": "3", "points": 10, "username": None, "name": None},
        {"user_id": UUID, "points": 10, "username": "ann", "name": "Ann"},
        {"user_id": LONG, "points": 15, "username": None, "name": None},
    ]
    board = cli("leaderboard", "--format", "csv").stdout.splitlines()
    assert board[:2] == ["rank,user_id,points,username,name", f"1,{LONG},15,,"]
    audit = cli("audit", UUID).stdout
    assert f"audit of user {UUID} (ann, Ann)" in audit
    cli("merge-users", "3", UUID)
    lines = json.loads(cli("audit", UUID, "--format", "json").stdout)
    assert [line["user_id"] for line in lines] == [None, "3"]
    assert json.loads(cli("adjustments", "list", "--format", "json").stdout)[0]["user_id"] == LONG
    refused = cli("audit", "x" * 201, ok=False)
    assert refused.exit_code != 0 and "longer than 200 characters" in refused.stderr
    excluded = write(tmp_path, "exclude.txt", f"{UUID}\n# a comment\n")
    assert UUID not in cli("leaderboard", "--exclude-users", excluded, "--format", "csv").stdout
    assert "Example: scoreledger users import" in cli("users", "import", "--help").stdout


def test_verify_covers_the_mapping(book: Ledger, tmp_path: Path) -> None:
    book.ingest_file(write(tmp_path, "a.csv", csv_text(rows("alice", "bob"))))
    book.import_users([UserNames(user="alice", username="al")])
    book.verify()
    # Swapping two keys' numbers would swap their points: the hash of the batch breaks.
    tamper(
        book,
        f"UPDATE user_keys SET user_number = {FIRST_ALLOCATED + 5} WHERE user_key = 'alice'",
        f"UPDATE user_keys SET user_number = {FIRST_ALLOCATED} WHERE user_key = 'bob'",
        f"UPDATE user_keys SET user_number = {FIRST_ALLOCATED + 1} WHERE user_key = 'alice'",
    )
    with pytest.raises(JournalBroken) as caught:
        book.verify()
    place: Any = caught.value.place
    assert place.what == "hash mismatch"


def test_verify_refuses_a_mapped_integer_key(book: Ledger, tmp_path: Path) -> None:
    book.ingest_file(write(tmp_path, "a.csv", csv_text(rows("alice"))))
    tamper(book, "UPDATE user_keys SET user_key = '42' WHERE user_key = 'alice'")
    with pytest.raises(JournalBroken) as caught:
        book.verify()
    place: Any = caught.value.place
    assert place.what == "inconsistent event"
    assert "integer key" in place.detail


def test_a_0014_ledger_upgrades_with_its_integer_users_as_keys(empty_database_url: str, tmp_path: Path) -> None:
    engine = open_engine(empty_database_url)
    with engine.begin() as conn:
        migrate(conn, "head")
    book = Ledger(engine)
    # Integer users write no user_keys row, so these rows are what the 0014 code wrote; the
    # ledger is then taken back to 0014 and upgraded again.
    book.ingest_file(write(tmp_path, "a.csv", csv_text(rows("5", "6", "5"))))
    with engine.begin() as conn:
        migrate(conn, "0014", down=True)
        assert "user_keys" not in _tables(conn)
        assert conn.execute(select(actions.c.user_id).order_by(actions.c.seq)).scalars().all() == [5, 6, 5]
    with engine.begin() as conn:
        migrate(conn, "head")
    book = Ledger(engine)
    priced(book)
    assert {row.user_id: row.points for row in book.scores()} == {5: 20, 6: 10}
    assert [line.source_key for line in book.audit("5")] == ["k0", "k2"]
    book.ingest_file(write(tmp_path, "b.csv", csv_text([["new", "alice", "post", "2024-06-01", "1", ""]])))
    book.recalc()
    assert {row.user_id: row.points for row in book.scores()} == {5: 20, 6: 10, "alice": 10}
    book.verify()
    engine.dispose()


def _tables(conn) -> set[str]:
    from sqlalchemy import inspect

    return set(inspect(conn).get_table_names())


def test_unknown_text_key_reads_as_absent(book: Ledger, tmp_path: Path) -> None:
    book.ingest_file(write(tmp_path, "a.csv", csv_text(rows("alice"))))
    priced(book)
    assert book.adjustments(user_id="nobody") == []
    with pytest.raises(UnknownUser):
        book.require_user("nobody")
    book.require_user("alice")
    with book.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM user_names")).scalar_one() == 0
