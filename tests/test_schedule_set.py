"""`schedule set` and friends through the command line: a value changes only the value,
typos and far dates are caught, bad numbers are one clear line, moves are listed whole."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ledger.domain import MAX_POINT_VALUE, today_utc
from ledger.schedules import FAR_FUTURE_DAYS
from tests.factories import action_row, csv_text

LAUNCH = """
effective_from: 2024-01-01
rules:
  likes_received: 3
  posts_read: {value: 1, per: 100, min_quantity: 5}
  rating_received: {by: {rating: {3: 30, 4: 40, 5: 50}}}
"""


@pytest.fixture
def launched(cli, tmp_path: Path):
    path = tmp_path / "launch.yaml"
    path.write_text(LAUNCH)
    cli("schedule", "import", str(path), "--retroactive")
    return cli


def rules_on(cli, day: str) -> dict[str, dict]:
    rows = json.loads(cli("schedule", "show", "--at", day, "--format", "json").stdout)
    return {row.pop("action"): row for row in rows}


def refused(cli, *args: str) -> str:
    result = cli(*args, ok=False)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert "Traceback" not in result.output
    return result.stderr


def test_a_value_changes_only_the_value(launched) -> None:
    launched("schedule", "set", "--effective-from", "2024-06-01", "posts_read=2", "--retroactive")
    rule = rules_on(launched, "2024-06-01")["posts_read"]
    assert (rule["value"], rule["per"], rule["min_quantity"]) == (2, 100, 5)
    assert rule["rule"] == "2 points per 100 posts read a day, from 5"


def test_other_parts_change_when_named(launched) -> None:
    launched("schedule", "set", "--effective-from", "2024-06-01", "posts_read.per=50", "posts_read.min_quantity=none", "--retroactive")
    rule = rules_on(launched, "2024-06-01")["posts_read"]
    assert (rule["value"], rule["per"], rule["min_quantity"]) == (1, 50, None)


def test_dry_run_shows_the_resulting_rule(launched) -> None:
    out = launched("schedule", "set", "--effective-from", "2024-06-01", "posts_read=2", "--retroactive", "--dry-run").stdout
    assert "would record version effective 2024-06-01 (1 rule(s) change, 2 kept):" in out
    assert "posts_read: 1 point per 100 posts read a day, from 5 → 2 points per 100 posts read a day, from 5" in out
    assert "nobody would move: no recorded action is repriced" in out
    assert len(json.loads(launched("schedule", "history", "--format", "json").stdout)) == 1


def test_a_value_for_a_by_rule_asks_to_drop_its_table(launched) -> None:
    err = refused(launched, "schedule", "set", "--effective-from", "2024-06-01", "rating_received=5", "--retroactive")
    assert "rating_received: is priced by its `rating` table" in err and "rating_received.by=none" in err
    launched("schedule", "set", "--effective-from", "2024-06-01", "rating_received=5", "rating_received.by=none", "--retroactive")
    assert rules_on(launched, "2024-06-01")["rating_received"]["by"] is None


def test_an_action_never_priced_needs_new_action(launched) -> None:
    err = refused(launched, "schedule", "set", "--effective-from", "2024-06-01", "likes_recieved=6", "--retroactive")
    assert "likes_recieved: no schedule version has ever priced this action; did you mean likes_received?" in err
    assert "If it is new, pass --new-action" in err
    launched("schedule", "set", "--effective-from", "2024-06-01", "solutions=60", "--retroactive", "--new-action")
    assert rules_on(launched, "2024-06-01")["solutions"]["value"] == 60


def test_a_misspelt_part_is_named_as_such(launched) -> None:
    err = refused(launched, "schedule", "set", "--effective-from", "2024-06-01", "posts_read.pre=50", "--retroactive")
    assert (
        "posts_read.pre: posts_read has no part 'pre' (a rule's parts: value, per, min_quantity, by); did you mean posts_read.per?" in err
    )
    assert "nothing was written" in err
    assert rules_on(launched, "2024-06-01")["posts_read"]["per"] == 100


def test_the_first_schedule_needs_new_action(cli) -> None:
    err = refused(cli, "schedule", "set", "--effective-from", "2024-06-01", "likes=1", "--retroactive")
    assert "the ledger has no schedule yet" in err


def test_a_far_date_needs_yes_without_a_terminal(launched) -> None:
    far = (today_utc() + timedelta(days=FAR_FUTURE_DAYS + 1)).isoformat()
    near = (today_utc() + timedelta(days=FAR_FUTURE_DAYS)).isoformat()
    err = refused(launched, "schedule", "set", "--effective-from", far, "likes_received=6")
    assert f"more than {FAR_FUTURE_DAYS} days after today" in err and "pass --yes" in err
    launched("schedule", "set", "--effective-from", near, "likes_received=6")
    launched("schedule", "set", "--effective-from", far, "likes_received=7", "--yes")
    assert rules_on(launched, far)["likes_received"]["value"] == 7


def test_a_far_date_is_asked_about_on_a_terminal(launched, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cli.schedule._interactive", lambda: True)
    far = (today_utc() + timedelta(days=4000)).isoformat()
    assert "not confirmed" in launched("schedule", "set", "--effective-from", far, "likes_received=6", input="n\n", ok=False).stderr
    launched("schedule", "set", "--effective-from", far, "likes_received=6", input="y\n")
    assert rules_on(launched, far)["likes_received"]["value"] == 6


def test_a_far_date_in_a_document_needs_yes(launched, tmp_path: Path) -> None:
    path = tmp_path / "far.yaml"
    path.write_text("effective_from: 2205-01-01\nrules: {likes_received: 1}\n")
    assert "pass --yes" in refused(launched, "schedule", "import", str(path))
    launched("schedule", "import", str(path), "--yes")


@pytest.mark.parametrize(
    ("word", "message"),
    [
        ("likes_received=99999999999999999999", "points are between -1,000,000 and 1,000,000"),
        (f"likes_received={MAX_POINT_VALUE + 1}", "points are between"),
        (f"likes_received={-MAX_POINT_VALUE - 1}", "points are between"),
        ("likes_received=" + "9" * 5000, "value must be a whole number"),
        ("likes_received=٣", "value must be a whole number"),
        ("posts_read.per=0", "posts_read.per: input should be greater than or equal to 1"),
        ("posts_read.value=none", "only per, min_quantity, by can be none"),
    ],
)
def test_bad_numbers_are_one_clear_line(launched, word: str, message: str) -> None:
    err = refused(launched, "schedule", "set", "--effective-from", "2024-06-01", word, "--retroactive")
    assert message in err


def test_the_largest_point_value_is_accepted(launched) -> None:
    launched("schedule", "set", "--effective-from", "2024-06-01", f"likes_received={-MAX_POINT_VALUE}", "--retroactive")
    assert rules_on(launched, "2024-06-01")["likes_received"]["value"] == -MAX_POINT_VALUE


def test_a_document_over_the_bound_is_refused_cleanly(launched, tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(
        "effective_from: 2024-06-01\nrules: {likes_received: 99999999999999999999, rating_received: {by: {rating: {5: 10000000}}}}\n"
    )
    err = refused(launched, "schedule", "import", str(path), "--retroactive")
    assert "action likes_received: value: Input should be less than or equal to 1000000" in err
    assert "`by` points are between -1000000 and 1000000" in err


def _moved_community(cli, tmp_path: Path, users: int = 25) -> None:
    path = tmp_path / "a.csv"
    path.write_text(csv_text([action_row(f"l{u}", user=u, when="2024-05-20") for u in range(1, users + 1)]))
    cli("ingest", str(path))


def test_moves_list_every_user_in_each_format(launched, tmp_path: Path) -> None:
    _moved_community(launched, tmp_path)
    base = ("schedule", "set", "--effective-from", "2024-05-16", "likes_received=6", "--retroactive", "--dry-run")
    human = launched(*base).stdout
    assert "would move 25 user(s) (points from actions on and after 2024-05-16): 25 up, 0 down, +75 points in total" in human
    assert "... and 5 more (--format csv lists every one)" in human
    as_json = launched(*base, "--format", "json")
    moves = json.loads(as_json.stdout)
    assert len(moves) == 25 and moves[0] == {"user_id": "1", "before": 3, "after": 6, "change": 3}
    assert "would move 25 user(s)" in as_json.stderr  # the summary stays off standard output
    rows = list(csv.DictReader(io.StringIO(launched(*base, "--format", "csv").stdout)))
    assert len(rows) == 25 and rows[-1] == {"user_id": "25", "before": "3", "after": "6", "change": "3"}
    table = launched(*base, "--format", "table").stdout
    assert "user_id" in table and all(f" {user} " in table for user in (1, 24, 25))
    quiet = launched(*base, "--quiet")
    assert quiet.stdout == "" and quiet.stderr == ""
    assert len(json.loads(launched(*base, "--quiet", "--format", "json").stdout)) == 25


def test_a_repricing_that_moves_nobody_says_so(launched, tmp_path: Path) -> None:
    _moved_community(launched, tmp_path, users=2)
    out = launched("schedule", "set", "--effective-from", "2024-05-16", "posts_read=5", "--retroactive").stdout
    assert "nobody moves: no recorded action is repriced" in out
    again = launched("schedule", "set", "--effective-from", "2024-05-16", "posts_read=5", "--retroactive")
    assert "nothing recorded" in again.stdout and "already in force" in again.stdout
    assert (
        json.loads(
            launched("schedule", "set", "--effective-from", "2024-05-17", "posts_read=6", "--retroactive", "--format", "json").stdout
        )
        == []
    )


def test_history_and_diff_json_are_typed(launched) -> None:
    launched("schedule", "set", "--effective-from", "2024-06-01", "likes_received=6", "posts_read.per=50", "--retroactive")
    history = json.loads(launched("schedule", "history", "--format", "json").stdout)
    assert history[0]["rules"]["posts_read"] == {"value": 1, "per": 100, "min_quantity": 5}
    assert history[0]["rules"]["rating_received"] == {"by": {"rating": {"3": 30, "4": 40, "5": 50}}}
    recorded_at = history[1]["recorded_at"]
    assert recorded_at.endswith("Z") and datetime.fromisoformat(recorded_at).utcoffset() == timedelta(0)
    diff = json.loads(launched("schedule", "diff", "--from", "2024-05-01", "--to", "2024-06-01", "--format", "json").stdout)
    assert diff == [
        {"action": "likes_received", "before": {"value": 3}, "after": {"value": 6}, "change": "3 points each → 6 points each"},
        {
            "action": "posts_read",
            "before": {"value": 1, "per": 100, "min_quantity": 5},
            "after": {"value": 1, "per": 50, "min_quantity": 5},
            "change": "1 point per 100 posts read a day, from 5 → 1 point per 50 posts read a day, from 5",
        },
    ]


def test_show_and_history_speak_words(launched) -> None:
    shown = launched("schedule", "show", "--at", "2024-02-01").stdout
    assert "3 points each" in shown and "3 → 30, 4 → 40, 5 → 50 points each" in shown
    history = launched("schedule", "history", "--format", "csv").stdout
    row = next(csv.DictReader(io.StringIO(history)))
    assert json.loads(row["rules"])["likes_received"] == {"value": 3}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", row["recorded_at"])
    # An 80-column table keeps the rules, in words, and gives times as every table does.
    table = launched("schedule", "history").stdout
    assert "rules" in table and "likes_received:" in table and "points each" in table, table
    assert "UTC" in table and not re.search(r"\d\dT\d\d:\d\d", table), table


def test_set_help_documents_parts_and_far_dates() -> None:
    from typer.testing import CliRunner

    from cli.app import app

    out = CliRunner().invoke(app, ["schedule", "set", "--help"], terminal_width=200).stdout
    for words in (
        "ACTION.per=N",
        "ACTION.min_quantity=N",
        "=none",
        "--new-action",
        "--yes",
        f"{FAR_FUTURE_DAYS} days",
        "--quiet",
        "--format",
    ):
        assert words in out, words
