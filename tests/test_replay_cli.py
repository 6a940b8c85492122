"""The replay commands as a user types them: recalc, scores, leaderboard, audit, demo."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.factories import action_row, csv_text


def setup_example(cli, tmp_path: Path) -> None:
    rows = [action_row(f"l{i}", user=1, when="2024-05-01T10:00:00") for i in range(100)]
    rows += [action_row(f"p{i}", user=1, action="posts_created", when="2024-05-10T10:00:00") for i in range(50)]
    rows += [action_row(f"L{i}", user=1, when="2024-05-16T10:00:00") for i in range(10)]
    rows += [action_row(f"P{i}", user=1, action="posts_created", when="2024-06-01T10:00:00") for i in range(10)]
    rows += [action_row("other", user=2, when="2024-06-01T10:00:00")]
    path = tmp_path / "actions.csv"
    path.write_text(csv_text(rows))
    cli("ingest", str(path))
    cli("schedule", "set", "--effective-from", "2024-01-01", "likes_received=3", "posts_created=6", "--retroactive", "--new-action")
    cli("schedule", "set", "--effective-from", "2024-05-16", "likes_received=6", "posts_created=3", "--retroactive", "--reason", "quality")


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_recalc_and_scores(cli, tmp_path: Path) -> None:
    setup_example(cli, tmp_path)
    assert "full rebuild" in cli("recalc").stdout
    for _ in range(2):
        cli("recalc", "--full")
        out = cli("scores", "--format", "csv").stdout
        assert out.splitlines()[0] == "user_id,points"
        assert csv_rows(out) == [{"user_id": "1", "points": "690"}, {"user_id": "2", "points": "6"}]
    assert "up to date" in cli("recalc").stdout  # nothing recorded since: answered at once
    ranged = json.loads(cli("scores", "--from", "2024-05-16", "--to", "2024-05-31", "--format", "json").stdout)
    assert ranged == [{"user_id": "1", "points": 60}]
    assert csv_rows(cli("scores", "--as-known-at", "2000-01-01", "--format", "csv").stdout) == []


def test_leaderboard_and_exclusions(cli, tmp_path: Path) -> None:
    setup_example(cli, tmp_path)
    board = csv_rows(cli("leaderboard", "--format", "csv").stdout)
    assert board == [{"rank": "1", "user_id": "1", "points": "690"}, {"rank": "2", "user_id": "2", "points": "6"}]
    excluded = tmp_path / "staff.txt"
    excluded.write_text("# staff\n1\n")
    board = csv_rows(
        cli("leaderboard", "--period", "month", "--at", "2024-06-10", "--exclude-users", str(excluded), "--format", "csv").stdout
    )
    assert board == [{"rank": "1", "user_id": "2", "points": "6"}]
    assert len(csv_rows(cli("leaderboard", "--limit", "1", "--ranking", "row_number", "--format", "csv").stdout)) == 1
    excluded.write_text("nobody\n" + "u" * 201 + "\n")
    result = cli("leaderboard", "--exclude-users", str(excluded), ok=False)
    assert result.exit_code == 1 and "staff.txt:2: user_id: is longer than 200 characters" in result.stderr


def test_audit_total_equals_scores(cli, tmp_path: Path) -> None:
    setup_example(cli, tmp_path)
    lines = csv_rows(cli("audit", "1", "--format", "csv").stdout)
    assert len(lines) == 170
    assert lines[-1]["total"] == "690"
    assert lines[-1]["reason"] == "quality" and lines[-1]["effective_from"] == "2024-05-16"
    result = cli("audit", "1", "--from", "2024-06-01", "--to", "2024-05-01", ok=False)
    assert result.exit_code == 1 and "after --to" in result.stderr


def test_bad_dates_are_one_line_errors(cli) -> None:
    result = cli("scores", "--from", "yesterday", ok=False)
    assert result.exit_code == 1 and "not a date" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_demo_runs_and_runs_again_the_same(cli) -> None:
    first = cli("demo", "--users", "40").stdout
    second = cli("demo", "--users", "40").stdout
    assert "Top 10, all time" in first and "Audit total" in first and "Naive total" in first
    assert "0 new actions" in second
    # Everything after the line saying what was recorded is the same the second time.
    assert first.split("\n", 1)[1].replace("full rebuild", "") == second.split("\n", 1)[1].replace("incremental, nothing new", "")
    audit_line = next(line for line in first.splitlines() if line.startswith("Audit total"))
    total, _, score = audit_line.partition(" = ")
    assert total.split()[-1] == score.split()[-1]
    assert csv_rows(cli("--ledger", "demo", "scores", "--format", "csv").stdout)
