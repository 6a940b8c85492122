"""Typos in an export do not pass silently: ingest names the action types no schedule version
prices, with the nearest priced name, and --strict refuses the file."""

from __future__ import annotations

from pathlib import Path

from tests.factories import action_row, csv_text


def export(tmp_path: Path) -> str:
    path = tmp_path / "export.csv"
    rows = [action_row(f"l{i}", action="likes_recieved") for i in range(3)] + [action_row("p1", action="posts_created")]
    path.write_text(csv_text(rows))
    return str(path)


def test_unpriced_types_are_named_with_the_nearest_priced_one(cli, tmp_path: Path) -> None:
    cli("schedule", "set", "--effective-from", "2024-01-01", "--retroactive", "likes_received=5", "posts_created=10", "--new-action")
    result = cli("ingest", export(tmp_path))
    assert result.stdout.strip() == "4 new, 0 already present"
    assert "warning: likes_recieved (3 rows): no rule prices it; did you mean likes_received?" in result.stderr
    assert "posts_created" not in result.stderr


def test_strict_refuses_the_file_and_writes_nothing(cli, tmp_path: Path) -> None:
    cli("schedule", "set", "--effective-from", "2024-01-01", "--retroactive", "likes_received=5", "posts_created=10", "--new-action")
    result = cli("ingest", export(tmp_path), "--strict", ok=False)
    assert result.exit_code == 1
    assert "likes_recieved (3 rows): no rule prices it; did you mean likes_received?" in result.stderr
    assert "ingest refused: 1 problem; nothing was written" in result.stderr
    assert cli("ingest", export(tmp_path)).stdout.strip() == "4 new, 0 already present"


def test_a_ledger_with_no_schedule_says_so(cli, tmp_path: Path) -> None:
    result = cli("ingest", export(tmp_path))
    assert "the ledger has no schedule yet: none of the 4 rows is priced" in result.stderr
    assert "did you mean" not in result.stderr
