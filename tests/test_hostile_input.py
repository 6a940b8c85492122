"""Input that would break a ledger for good once stored is refused at input, with the file,
line and field, the same on both backends; far-dated actions are priced without walking
every calendar day between them (issue 23)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import DBAPICursor

from ledger import Ledger, Rule, ScheduleVersion
from ledger.domain import MAX_QUANTITY, Action
from ledger.errors import InvalidInput
from ledger.safe_values import MAX_ATTRIBUTE_DEPTH, MAX_ATTRIBUTES_BYTES
from tests.factories import action_row, csv_text

GOOD = {"source_key": "ok", "user_id": 1, "action": "likes_received", "occurred_at": "2024-05-01T12:00:00"}

# (JSON Lines line, field named in the problem, words of the reason)
HOSTILE_LINES = [
    ('{"source_key":"a","user_id":1,"action":"x","occurred_at":"2024-05-01","attributes":{"n":1e400}}', "attributes", "not store"),
    ('{"source_key":"a","user_id":1,"action":"x","occurred_at":"2024-05-01","attributes":{"n":-1e400}}', "attributes", "not store"),
    ('{"source_key":"a","user_id":1,"action":"x","occurred_at":"2024-05-01","attributes":{"n":"a\\u0000b"}}', "attributes", "NUL"),
    ('{"source_key":"a","user_id":1,"action":"x","occurred_at":"2024-05-01","attributes":{"a\\u0000":1}}', "attributes", "NUL"),
    ('{"source_key":"a","user_id":1,"action":"x","occurred_at":"2024-05-01","attributes":{"n":"\\ud800"}}', "attributes", "surrogate"),
    ('{"source_key":"a","user_id":1,"action":"x","occurred_at":"2024-05-01","attributes":{"\\udfff":1}}', "attributes", "surrogate"),
    ('{"source_key":"\\ud800","user_id":1,"action":"x","occurred_at":"2024-05-01"}', "source_key", "surrogate"),
    ('{"source_key":"a","user_id":1,"action":"x\\ud800y","occurred_at":"2024-05-01"}', "action", "surrogate"),
    ('{"source_key":"a","user_id":1,"action":"x","occurred_at":"2024-05-01","quantity":1000000001}', "quantity", "between"),
]


def _jsonl(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "actions.jsonl"
    path.write_text("\n".join([json.dumps(GOOD), *lines]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("line", "field", "reason"), HOSTILE_LINES)
def test_hostile_jsonl_is_refused_with_line_and_field(book: Ledger, tmp_path: Path, line: str, field: str, reason: str) -> None:
    path = _jsonl(tmp_path, line)
    with pytest.raises(InvalidInput) as caught:
        book.ingest_file(str(path))
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (2, field)
    assert reason in problem.reason
    str(problem).encode("utf-8")  # printable, even for a lone surrogate
    assert book.scores() == []


@pytest.mark.parametrize("depth", [MAX_ATTRIBUTE_DEPTH, 1_000, 100_000])
def test_deeply_nested_attributes_are_refused(book: Ledger, tmp_path: Path, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    line = '{"source_key":"a","user_id":1,"action":"x","occurred_at":"2024-05-01","attributes":{"n":' + nested + "}}"
    with pytest.raises(InvalidInput) as caught:
        book.ingest_file(str(_jsonl(tmp_path, line)))
    (problem,) = caught.value.problems
    assert problem.line == 2
    assert "deep" in problem.reason


def test_nesting_up_to_the_limit_is_stored(book: Ledger, tmp_path: Path) -> None:
    # The attributes object and MAX_ATTRIBUTE_DEPTH - 1 lists inside it.
    nested: object = 1
    for _ in range(MAX_ATTRIBUTE_DEPTH - 1):
        nested = [nested]
    line = json.dumps({**GOOD, "source_key": "deep", "attributes": {"n": nested}})
    assert book.ingest_file(str(_jsonl(tmp_path, line))).new == 2


def test_large_attributes_are_refused_the_same_on_both_backends(book: Ledger, tmp_path: Path) -> None:
    big = "x" * MAX_ATTRIBUTES_BYTES
    rows = [action_row("fits", attributes={"t": "y" * (MAX_ATTRIBUTES_BYTES - 20)}), action_row("big", attributes={"t": big})]
    (tmp_path / "a.csv").write_text(csv_text(rows))
    with pytest.raises(InvalidInput) as caught:
        book.ingest_file(str(tmp_path / "a.csv"))
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (3, "attributes")
    assert f"at most {MAX_ATTRIBUTES_BYTES}" in problem.reason
    # The one that fits is stored on PostgreSQL too (its indexes carry the attributes).
    (tmp_path / "b.csv").write_text(csv_text(rows[:1]))
    assert book.ingest_file(str(tmp_path / "b.csv")).new == 1


def test_over_long_keys_and_names_are_refused_with_their_field(book: Ledger, tmp_path: Path) -> None:
    rows = [action_row("k" * 201), action_row("fine", action="a" * 101)]
    (tmp_path / "a.csv").write_text(csv_text(rows))
    with pytest.raises(InvalidInput) as caught:
        book.ingest_file(str(tmp_path / "a.csv"))
    assert [(p.line, p.field) for p in caught.value.problems] == [(2, "source_key"), (3, "action")]


@pytest.mark.parametrize(
    "attributes",
    [{"n": float("inf")}, {"n": float("nan")}, {"n": "\x00"}, {"\ud800": 1}, {"t": "x" * (MAX_ATTRIBUTES_BYTES + 1)}],
)
def test_the_python_entry_refuses_the_same_attributes(attributes: dict) -> None:
    with pytest.raises(ValidationError):
        Action(source_key="k", user_id=1, action="x", occurred_at=datetime(2024, 1, 1), attributes=attributes)


def test_the_python_entry_refuses_unstorable_text_and_quantities() -> None:
    for fields in ({"source_key": "a\ud800"}, {"action": "a\x00"}, {"quantity": MAX_QUANTITY + 1}):
        with pytest.raises(ValidationError):
            Action(**{"source_key": "k", "user_id": 1, "action": "x", "occurred_at": datetime(2024, 1, 1), **fields})
    deep: object = 1
    for _ in range(2_000):
        deep = {"a": deep}
    with pytest.raises(ValidationError):
        Action(source_key="k", user_id=1, action="x", occurred_at=datetime(2024, 1, 1), attributes={"d": deep})


def test_hostile_input_on_the_command_line_is_one_clear_line_per_problem(cli, tmp_path: Path) -> None:
    path = _jsonl(tmp_path, HOSTILE_LINES[0][0], HOSTILE_LINES[4][0], HOSTILE_LINES[6][0])
    result = cli("ingest", str(path), ok=False)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert [line.split(":")[1] for line in lines[:3]] == ["2", "3", "4"]


@pytest.mark.parametrize("name", ["l\udcff", "l\x00", "l" * 101])
@pytest.mark.parametrize("command", [["scores"], ["verify"], ["adjust", "1", "--on", "2024-05-01", "--reason", "r", "--", "5"]])
def test_a_ledger_name_no_backend_can_store_is_one_clear_line(cli, name: str, command: list[str]) -> None:
    # Bytes that are not UTF-8 on the command line arrive as lone surrogates (surrogateescape).
    result = cli("--ledger", name, *command, ok=False)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "a ledger name" in result.stderr
    assert "nothing was written" not in result.stderr


def test_far_dated_actions_are_priced_without_walking_the_calendar(book: Ledger, tmp_path: Path) -> None:
    rows = [
        action_row("first", user=1, when="0001-01-01T00:00:00"),
        action_row("middle", user=2, when="2024-05-01T12:00:00"),
        action_row("last", user=3, when="9999-12-31T23:59:59"),
    ]
    (tmp_path / "a.csv").write_text(csv_text(rows))
    book.ingest_file(str(tmp_path / "a.csv"))
    book.record_schedule([ScheduleVersion(effective_from=date(1, 1, 1), rules={"likes_received": Rule(value=5)})], retroactive=True)
    with days_queued_for_pricing() as queued:
        book.recalc(full=True)
        book.record_schedule([ScheduleVersion(effective_from=date(2, 1, 1), rules={"likes_received": Rule(value=7)})], retroactive=True)
        book.recalc()
    points = {row.user_id: row.points for row in book.scores()}
    as_known = {row.user_id: row.points for row in book.scores(as_known_at=datetime(9999, 12, 31))}
    assert points == as_known == {1: 5, 2: 7, 3: 7}
    # Only the three days with actions are queued, never the 3.65 million calendar days between.
    assert queued and max(queued) <= len(rows), queued


@contextmanager
def days_queued_for_pricing() -> Iterator[list[int]]:
    """The row counts of every statement that fills the replay's scratch list of days to price."""
    counts: list[int] = []

    def count(conn: Connection, cursor: DBAPICursor, statement: str, *_: object) -> None:
        if statement.lstrip().startswith("INSERT INTO replay_days"):
            counts.append(cursor.rowcount)

    event.listen(Engine, "after_cursor_execute", count)
    try:
        yield counts
    finally:
        event.remove(Engine, "after_cursor_execute", count)
