"""Invariant 5: a retroactive schedule change shows who it moves, and by how much."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from ledger import Action, Ledger, Rule
from ledger.schedules import UserMove
from tests.factories import action_row, csv_text


def test_retroactive_change_lists_the_users_it_moves(book: Ledger) -> None:
    book.set_schedule(date(2024, 1, 1), {"likes_received": Rule(value=3), "posts_created": Rule(value=6)}, retroactive=True)
    book.record_actions(
        [
            Action(source_key=f"l{i}", user_id=1 + i % 2, action="likes_received", occurred_at=datetime(2024, 5, 1) + timedelta(days=i))
            for i in range(10)
        ]
        + [Action(source_key="p", user_id=3, action="posts_created", occurred_at=datetime(2024, 6, 1))]
    )
    total_before = {s.user_id: s.points for s in book.scores()}
    preview = book.set_schedule(date(2024, 5, 6), {"likes_received": Rule(value=5)}, retroactive=True, dry_run=True)
    # Days 6..10 of May: users 2 (6th, 8th, 10th) and 1 (7th, 9th); user 3's post is unchanged.
    assert preview.moved == [UserMove(2, 9, 15), UserMove(1, 6, 10)]
    assert preview.moved_from == date(2024, 5, 6)
    assert len(book.schedule_history()) == 1  # the dry run left nothing behind
    assert {s.user_id: s.points for s in book.scores()} == total_before
    outcome = book.set_schedule(date(2024, 5, 6), {"likes_received": Rule(value=5)}, retroactive=True)
    assert outcome.moved == preview.moved
    assert {s.user_id: s.points for s in book.scores()} == {1: total_before[1] + 4, 2: total_before[2] + 6, 3: 6}


def test_cli_shows_who_a_retroactive_change_moves(cli, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(csv_text([action_row("l1", user=5, when="2024-05-20"), action_row("l2", user=5, when="2024-04-01")]))
    cli("ingest", str(path))
    cli("schedule", "set", "--effective-from", "2024-01-01", "likes_received=3", "--retroactive", "--new-action")
    out = cli("schedule", "set", "--effective-from", "2024-05-16", "likes_received=6", "--retroactive").stdout
    assert "moves 1 user(s) (points from actions on and after 2024-05-16): 1 up, 0 down, +3 points in total" in out
    assert "user 5: 3 -> 6 (+3)" in out
