"""Ingest: idempotent by source_key (invariant 2), all-or-nothing with every problem named
(invariant 3), on both backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ledger import Action, Ledger
from ledger.errors import InvalidInput
from ledger.store.tables import actions, batches
from tests.factories import HEADER, action_row, csv_text, many_rows


def count_actions(book: Ledger, ledger: str | None = None) -> int:
    with book.engine.connect() as conn:
        query = select(func.count()).select_from(actions)
        if ledger:
            query = query.where(actions.c.ledger == ledger)
        return conn.execute(query).scalar_one()


def write(tmp_path: Path, name: str, body: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(body.encode() if isinstance(body, str) else body)
    return str(path)


def test_same_file_twice_writes_once(book: Ledger, tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", csv_text(many_rows(2_000)))
    first = book.ingest_file(path)
    second = book.ingest_file(path)
    assert (first.new, first.already_present) == (2_000, 0)
    assert (second.new, second.already_present) == (0, 2_000)
    assert count_actions(book) == 2_000


def test_sequence_numbers_are_gap_free_across_batches(book: Ledger, tmp_path: Path) -> None:
    book.ingest_file(write(tmp_path, "a.csv", csv_text(many_rows(10, prefix="a"))))
    book.ingest_file(write(tmp_path, "b.csv", csv_text(many_rows(10, prefix="a") + many_rows(5, prefix="b"))))
    with book.engine.connect() as conn:
        seqs = conn.execute(select(actions.c.seq).order_by(actions.c.seq)).scalars().all()
        journal = conn.execute(select(batches.c.first_seq, batches.c.last_seq).order_by(batches.c.batch_id)).all()
    assert seqs == list(range(1, 16))
    assert [tuple(row) for row in journal] == [(1, 10), (11, 15)]


def test_same_key_different_payload_is_refused_naming_fields(book: Ledger, tmp_path: Path) -> None:
    book.ingest_file(write(tmp_path, "a.csv", csv_text([action_row("k1", user=1, quantity=1), action_row("k2")])))
    changed = csv_text([action_row("k1", user=2, quantity=5), action_row("k3")])
    with pytest.raises(InvalidInput) as caught:
        book.ingest_file(write(tmp_path, "b.csv", changed))
    [problem] = caught.value.problems
    assert problem.line == 2
    assert problem.field == "user_id, quantity"
    assert "k1" in problem.reason
    assert count_actions(book) == 2  # k3 was not written either


def test_repeated_key_within_one_file(book: Ledger, tmp_path: Path) -> None:
    same = csv_text([action_row("k1"), action_row("k1")])
    assert book.ingest_file(write(tmp_path, "same.csv", same)).new == 1
    different = csv_text([action_row("k9", quantity=1), action_row("k9", quantity=2)])
    with pytest.raises(InvalidInput) as caught:
        book.ingest_file(write(tmp_path, "diff.csv", different))
    assert caught.value.problems[0].field == "quantity"
    assert caught.value.problems[0].line == 3


def test_three_bad_rows_among_ten_thousand_are_all_named(book: Ledger, tmp_path: Path) -> None:
    rows = many_rows(10_000)
    rows[1_000][1] = "u" * 201  # a user key is at most 200 characters
    rows[5_000][3] = "2024-13-45"
    rows[9_998][5] = "{broken json"
    path = write(tmp_path, "bad.csv", csv_text(rows))
    with pytest.raises(InvalidInput) as caught:
        book.ingest_file(path)
    found = [(p.source, p.line, p.field) for p in caught.value.problems]
    assert found == [(path, 1_002, "user_id"), (path, 5_002, "occurred_at"), (path, 10_000, "attributes")]
    assert count_actions(book) == 0


def test_every_kind_of_bad_value_is_reported(book: Ledger, tmp_path: Path) -> None:
    rows = [
        ["", "1", "a", "2024-01-01", "1", ""],
        ["k2", "u" * 201, "a", "2024-01-01", "1", ""],
        ["k3", "1", "", "2024-01-01", "1", ""],
        ["k4", "1", "a", "yesterday", "1", ""],
        ["k5", "1", "a", "2024-01-01", "-3", ""],
        ["k6", "1", "a", "2024-01-01", "99999999999999999999999", ""],
        ["k7", "1", "a", "2024-01-01", "1", "[1, 2]"],
        ["k8", "1", "a", "2024-01-01", "1", '{"x": NaN}'],
    ]
    with pytest.raises(InvalidInput) as caught:
        book.ingest_file(write(tmp_path, "bad.csv", csv_text(rows)))
    found = [(p.line, p.field) for p in caught.value.problems]
    assert found == [
        (2, "source_key"),
        (3, "user_id"),
        (4, "action"),
        (5, "occurred_at"),
        (6, "quantity"),
        (7, "quantity"),
        (8, "attributes"),
        (9, "attributes"),
    ]


def test_missing_and_unknown_columns(book: Ledger, tmp_path: Path) -> None:
    body = csv_text([["k", "1", "2024-01-01", "1"]], header=["source_key", "user", "occurred_at", "quantitiy"])
    with pytest.raises(InvalidInput) as caught:
        book.ingest_file(write(tmp_path, "cols.csv", body))
    reason = caught.value.problems[0].reason
    assert "missing column(s) user_id, action" in reason
    assert "unknown column(s) user, quantitiy" in reason


def test_non_utf8_bytes_are_reported_not_crashed(book: Ledger, tmp_path: Path) -> None:
    body = csv_text([action_row("ok"), action_row("bad")]).encode().replace(b"bad", b"b\xffd")
    with pytest.raises(InvalidInput) as caught:
        book.ingest_file(write(tmp_path, "latin.csv", body))
    assert [(p.line, p.field) for p in caught.value.problems] == [(3, "source_key")]
    assert "UTF-8" in caught.value.problems[0].reason


def test_times_are_stored_as_utc(book: Ledger, tmp_path: Path) -> None:
    rows = [action_row("z", when="2024-05-15T23:30:00-02:00"), action_row("naive", when="2024-05-15T23:30:00")]
    book.ingest_file(write(tmp_path, "tz.csv", csv_text(rows)))
    with book.engine.connect() as conn:
        stored = dict(conn.execute(select(actions.c.source_key, actions.c.day)).all())
    assert str(stored["z"]) == "2024-05-16"  # 23:30 at UTC-2 is 01:30 the next UTC day
    assert str(stored["naive"]) == "2024-05-15"


def test_jsonl_with_defaults(book: Ledger, tmp_path: Path) -> None:
    lines = [
        {"source_key": "j1", "user_id": 3, "action": "rating_received", "occurred_at": "2024-02-01T00:00:00Z", "attributes": {"rating": 4}},
        {"source_key": "j2", "user_id": "4", "action": "posts_created", "occurred_at": "2024-02-02", "quantity": 2},
    ]
    path = write(tmp_path, "a.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n")
    assert book.ingest_file(path).new == 2
    with book.engine.connect() as conn:
        stored = {row.source_key: row for row in conn.execute(select(actions))}
    assert stored["j1"].quantity == 1 and json.loads(stored["j1"].attributes) == {"rating": 4}
    assert stored["j2"].user_id == 4 and stored["j2"].quantity == 2


def test_jsonl_and_csv_spellings_of_one_action_are_the_same_event(book: Ledger, tmp_path: Path) -> None:
    book.ingest_file(write(tmp_path, "a.csv", csv_text([action_row("s", attributes={"b": 1, "a": 2})])))
    line = {
        "source_key": "s",
        "user_id": 1,
        "action": "likes_received",
        "occurred_at": "2024-05-01T12:00:00",
        "quantity": 1,
        "attributes": {"a": 2, "b": 1},
    }
    assert book.ingest_file(write(tmp_path, "a.jsonl", json.dumps(line))).already_present == 1


def test_ledgers_are_independent(database_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", csv_text(many_rows(50)))
    first, second = Ledger.open(database_url, "forum"), Ledger.open(database_url, "support")
    assert first.ingest_file(path).new == 50
    assert second.ingest_file(path).new == 50
    assert count_actions(first, "forum") == 50 and count_actions(first, "support") == 50


def test_python_api_records_actions(book: Ledger) -> None:
    result = book.record_actions([Action(source_key="p1", user_id=1, action="solutions", occurred_at="2024-01-01T10:00:00+01:00")])
    assert result.new == 1
    with book.engine.connect() as conn:
        assert str(conn.execute(select(actions.c.occurred_at)).scalar_one()) == "2024-01-01 09:00:00"


def test_cli_reports_counts_and_every_bad_row(cli, tmp_path: Path) -> None:
    good = write(tmp_path, "good.csv", csv_text(many_rows(30)))
    assert cli("ingest", good).stdout.strip() == "30 new, 0 already present"
    assert cli("ingest", good).stdout.strip() == "0 new, 30 already present"
    rows = many_rows(5, prefix="x")
    rows[0][1], rows[3][3] = "u" * 201, "soon"
    result = cli("ingest", write(tmp_path, "bad.csv", csv_text(rows)), ok=False)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].endswith("bad.csv:2: user_id: is longer than 200 characters")
    assert "bad.csv:5: occurred_at:" in lines[1]
    assert lines[-1] == "error: ingest refused: 2 problems; nothing was written"
    assert "Traceback" not in result.output


def test_cli_reads_standard_input(cli) -> None:
    body = csv_text([action_row("s1"), action_row("s2")])
    assert cli("ingest", "-", input=body).stdout.strip() == "2 new, 0 already present"
    jsonl = json.dumps({"source_key": "s3", "user_id": 1, "action": "a", "occurred_at": "2024-01-01"})
    assert cli("ingest", "-", "--format", "jsonl", input=jsonl).stdout.strip() == "1 new, 0 already present"


def test_cli_before_init_says_what_to_do(empty_database_url: str, tmp_path: Path) -> None:
    from tests.conftest import Cli

    result = Cli(empty_database_url)("ingest", write(tmp_path, "a.csv", csv_text([action_row("a")])), ok=False)
    assert result.exit_code == 1
    assert "run `scoreledger init`" in result.stderr


def test_init_creates_then_is_harmless(empty_database_url: str) -> None:
    from tests.conftest import Cli

    cli = Cli(empty_database_url)
    assert "schema created at revision" in cli("init").stdout
    assert "schema up to date" in cli("init").stdout


def test_header_only_file_writes_nothing(cli, tmp_path: Path) -> None:
    assert cli("ingest", write(tmp_path, "empty.csv", ",".join(HEADER) + "\n")).stdout.strip() == "0 new, 0 already present"
