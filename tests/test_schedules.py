"""Schedules: versions, 'in force on a day', retroactive refusal, import/export round trips."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from ledger import Ledger, LevelCurve, Rule, ScheduleVersion
from ledger.domain import today_utc
from ledger.errors import InvalidInput, RetroactiveChangeRefused, UnknownScheduleVersion
from tests.factories import action_row, csv_text

FULL_DOCUMENT = """
versions:
  - effective_from: 2020-01-01
    reason: launch
    author: ops
    link: https://forum.example.org/t/points/1
    rules:
      likes_received: 3
      posts_created: {value: 6}
      posts_read: {value: 1, per: 100, min_quantity: 5}
      rating_received: {by: {rating: {1: 0, 2: 0, 3: 30, 4: 40, 5: 50}}}
    levels: {kind: quadratic, coefficient: 100}
  - effective_from: 2024-05-16
    reason: "=likes matter more"
    rules:
      likes_received: 6
      posts_created: 3
"""


def import_text(book: Ledger, tmp_path: Path, body: str, name: str = "schedule.yaml", **kwargs):
    path = tmp_path / name
    path.write_text(body)
    with open(path, "rb") as stream:
        return book.import_schedule(stream, str(path), **kwargs)


def test_set_keeps_unlisted_values_and_zero_turns_off(book: Ledger) -> None:
    book.set_schedule(date(2024, 1, 1), {"likes_received": Rule(value=3), "posts_created": Rule(value=6)}, retroactive=True)
    book.set_schedule(date(2024, 5, 16), {"likes_received": Rule(value=6)}, retroactive=True)
    book.set_schedule(date(2024, 9, 1), {"posts_created": Rule(value=0)}, retroactive=True)
    assert book.schedule_at(date(2024, 5, 15)).version.rules == {"likes_received": Rule(value=3), "posts_created": Rule(value=6)}
    assert book.schedule_at(date(2024, 5, 16)).version.rules == {"likes_received": Rule(value=6), "posts_created": Rule(value=6)}
    assert book.schedule_at(date(2025, 1, 1)).version.rules["posts_created"].value == 0
    with pytest.raises(UnknownScheduleVersion):
        book.schedule_at(date(2023, 12, 31))


def test_past_dates_need_retroactive(book: Ledger) -> None:
    yesterday = today_utc() - timedelta(days=1)
    with pytest.raises(RetroactiveChangeRefused, match="`retroactive`"):
        book.set_schedule(yesterday, {"likes_received": Rule(value=1)})
    assert book.schedule_history() == []
    assert book.set_schedule(today_utc(), {"likes_received": Rule(value=1)}).recorded
    recorded = book.set_schedule(yesterday, {"likes_received": Rule(value=2)}, retroactive=True)
    assert recorded.recorded and book.schedule_history()[0].retroactive


def test_retroactive_change_counts_the_actions_it_reprices(book: Ledger, tmp_path: Path) -> None:
    rows = [
        action_row("l1", when="2024-05-20"),
        action_row("l2", when="2024-04-01"),
        action_row("p1", action="posts_created", when="2024-06-01"),
    ]
    path = tmp_path / "a.csv"
    path.write_text(csv_text(rows))
    book.ingest_file(str(path))
    book.set_schedule(date(2024, 1, 1), {"likes_received": Rule(value=3), "posts_created": Rule(value=6)}, retroactive=True)
    outcome = book.set_schedule(date(2024, 5, 16), {"likes_received": Rule(value=6)}, retroactive=True, dry_run=True)
    assert outcome.affected_actions == 1  # only l1: l2 is before the change, p1's rule is unchanged
    assert len(book.schedule_history()) == 1  # dry run wrote nothing


def test_same_date_recorded_later_wins(book: Ledger) -> None:
    book.set_schedule(date(2024, 1, 1), {"a": Rule(value=1)}, retroactive=True)
    book.set_schedule(date(2024, 1, 1), {"a": Rule(value=2)}, retroactive=True)
    assert book.schedule_at(date(2024, 1, 1)).version.rules["a"].value == 2


def test_import_is_idempotent_and_keeps_full_rules(book: Ledger, tmp_path: Path) -> None:
    first = import_text(book, tmp_path, FULL_DOCUMENT, retroactive=True)
    again = import_text(book, tmp_path, FULL_DOCUMENT, retroactive=True)
    assert len(first.recorded) == 2 and again.recorded == [] and again.already_present == 2
    launch = book.schedule_at(date(2021, 1, 1)).version
    assert launch.rules["posts_read"] == Rule(value=1, per=100, min_quantity=5)
    assert launch.rules["rating_received"].by_points == {"1": 0, "2": 0, "3": 30, "4": 40, "5": 50}
    assert launch.levels == LevelCurve(coefficient=100)
    later = book.schedule_at(date(2024, 6, 1)).version
    assert set(later.rules) == {"likes_received", "posts_created"}  # a document lists full rules


def test_import_past_versions_needs_retroactive(book: Ledger, tmp_path: Path) -> None:
    with pytest.raises(RetroactiveChangeRefused):
        import_text(book, tmp_path, FULL_DOCUMENT)
    assert book.schedule_history() == []


def test_import_reports_every_problem(book: Ledger, tmp_path: Path) -> None:
    body = """
versions:
  - effective_from: 2024-02-30
    rules: {a: 1}
  - effective_from: 2024-03-01
    rules:
      b: {value: x}
      c: {by: {rating: {1: 1}, stars: {1: 1}}}
"""
    with pytest.raises(InvalidInput) as caught:
        import_text(book, tmp_path, body, retroactive=True)
    where = [(p.line, p.field) for p in caught.value.problems]
    assert where[0] == (3, "version 1 (2024-02-30): effective_from")
    assert (7, "version 2 (2024-03-01), action b: value") in where
    assert (8, "version 2 (2024-03-01), action c") in where
    assert book.schedule_history() == []


@pytest.mark.parametrize("fmt", ["json", "yaml", "csv"])
def test_export_reimports_to_the_same_history(book: Ledger, database_url: str, tmp_path: Path, fmt: str) -> None:
    from ledger.exporters.schedules import export_schedule

    import_text(book, tmp_path, FULL_DOCUMENT, retroactive=True)
    book.set_schedule(date(2025, 1, 1), {"solutions": Rule(value=60)}, reason="solutions", retroactive=True)
    original = [recorded.version for recorded in book.schedule_history()]
    document = export_schedule(original, fmt)
    other = Ledger.open(database_url, f"copy-{fmt}")
    import_text(other, tmp_path, document, name=f"export.{fmt}", retroactive=True)
    assert [recorded.version for recorded in other.schedule_history()] == original
    assert export_schedule([r.version for r in other.schedule_history()], fmt) == document


def test_cli_schedule_commands(cli, tmp_path: Path) -> None:
    cli(
        "schedule",
        "set",
        "--effective-from",
        "2024-01-01",
        "likes_received=3",
        "posts_created=6",
        "--retroactive",
        "--reason",
        "launch",
        "--new-action",
    )
    refused = cli("schedule", "set", "--effective-from", "2024-05-16", "likes_received=6", ok=False)
    assert refused.exit_code == 1 and "--retroactive" in refused.stderr
    cli("schedule", "set", "--effective-from", "2024-05-16", "likes_received=6", "posts_created=3", "--retroactive")
    shown = json.loads(cli("schedule", "show", "--at", "2024-05-15", "--format", "json").stdout)
    assert {row["action"]: row["value"] for row in shown} == {"likes_received": 3, "posts_created": 6}
    assert cli("schedule", "diff", "--from", "2024-05-15", "--to", "2024-05-16", "--format", "csv").stdout == (
        "action,before_value,before_per,before_min_quantity,before_by,after_value,after_per,after_min_quantity,after_by\n"
        "likes_received,3,,,,6,,,\nposts_created,6,,,,3,,,\n"
    )
    history = json.loads(cli("schedule", "history", "--format", "json").stdout)
    assert [row["effective_from"] for row in history] == ["2024-01-01", "2024-05-16"]
    out = tmp_path / "s.json"
    cli("schedule", "export", "--format", "json", "--output", str(out))
    assert [v["effective_from"] for v in json.loads(out.read_text())["versions"]] == ["2024-01-01", "2024-05-16"]


def test_cli_schedule_bad_words(cli) -> None:
    result = cli("schedule", "set", "--effective-from", "2030-01-01", "likes", "posts=x", ok=False)
    assert result.exit_code == 1
    assert "expected ACTION=POINTS" in result.stderr and "value must be a whole number" in result.stderr
    bad_date = cli("schedule", "show", "--at", "15/05/2024", ok=False)
    assert bad_date.exit_code == 1 and "YYYY-MM-DD" in bad_date.stderr


def test_version_content_key_ignores_spelling() -> None:
    short = ScheduleVersion.model_validate({"effective_from": "2024-01-01", "rules": {"a": 3}})
    long = ScheduleVersion(effective_from=date(2024, 1, 1), rules={"a": Rule(value=3)})
    assert short == long and short.content_key() == long.content_key()


def test_level_curve_thresholds() -> None:
    curve = LevelCurve(coefficient=100)
    assert [curve.threshold(n) for n in range(1, 6)] == [0, 100, 300, 600, 1000]
    assert [curve.level_for(p) for p in (0, 99, 100, 299, 300, 1000)] == [1, 1, 2, 2, 3, 5]
