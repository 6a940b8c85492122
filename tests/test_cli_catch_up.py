"""Nothing silent and slow: a recalc with nothing to do answers at once, a read that must
catch up says so, and a re-ingest reports progress as it goes."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import ledger.store.actions as store_actions
from ledger import Ledger
from ledger.replay import PROJECTION_LOCK_KEY
from ledger.store.engine import open_engine, write_transaction
from tests.factories import csv_text, many_rows

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture
def example(cli):
    cli("ingest", str(EXAMPLES / "actions.csv"))
    cli("schedule", "import", str(EXAMPLES / "schedule.yaml"), "--retroactive")
    return cli


def test_a_recalc_with_nothing_to_do_answers_without_waiting_for_the_lock(book: Ledger, database_url: str, tmp_path: Path) -> None:
    book.ingest_file(str(EXAMPLES / "actions.csv"))
    first = book.recalc()
    assert first.full
    # Another recalculation holds the projections' lock (on SQLite: the write lock). A recalc
    # with nothing new does not queue behind it: it reads that nothing changed and answers.
    holder = open_engine(database_url)
    answered: list = []
    try:
        with write_transaction(holder, PROJECTION_LOCK_KEY):
            worker = threading.Thread(target=lambda: answered.append(book.recalc()), daemon=True)
            worker.start()
            worker.join(timeout=20)
            assert not worker.is_alive(), "a recalc with nothing to do waited for the lock"
    finally:
        holder.dispose()
    assert answered[0].full is False and answered[0].user_days == 0
    assert answered[0].through_seq == first.through_seq
    # With something new it does the work.
    more = tmp_path / "one-more.csv"
    more.write_text("source_key,user_id,action,occurred_at\nlike:extra,42,likes_received,2024-06-01T10:00:00Z\n")
    book.ingest_file(str(more))
    again = book.recalc()
    assert again.user_days == 1 and again.through_seq > first.through_seq


def test_recalc_says_when_it_is_up_to_date(example) -> None:
    assert "full rebuild" in example("recalc").stdout
    assert example("recalc").stdout.startswith("up to date: nothing recorded since the last recalculation")
    assert "full rebuild" in example("recalc", "--full").stdout


@pytest.mark.parametrize("command", [["scores"], ["leaderboard"]])
def test_a_read_that_must_catch_up_says_so(example, command) -> None:
    first = example(*command, "--format", "csv")
    assert "catching up" in first.stderr and "caught up through event" in first.stderr
    assert "42,78" in first.stdout
    second = example(*command, "--format", "csv")
    assert second.stderr == "" and second.stdout == first.stdout
    example("ingest", str(EXAMPLES / "actions.csv"))  # nothing new: still caught up
    assert example(*command, "--format", "csv").stderr == ""


def test_as_known_at_needs_no_catching_up(example) -> None:
    result = example("scores", "--as-known-at", "2999-01-01T00:00:00", "--format", "csv")
    assert result.stderr == "" and "42,78" in result.stdout


def test_a_re_ingest_reports_progress_as_it_compares(book: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_actions, "CHUNK", 100)
    path = tmp_path / "actions.csv"
    path.write_text(csv_text(many_rows(450)))
    rows = book.read_action_file(str(path))
    first: list[int] = []
    book.ingest_rows(rows, progress=first.append)
    assert sum(first) == 450 and len(first) >= 5
    again: list[int] = []
    result = book.ingest_rows(rows, progress=again.append)
    assert result.new == 0 and result.already_present == 450
    # Reported chunk by chunk as the keys were compared, not once at the end.
    assert again == [100, 100, 100, 100, 50]


def test_a_partly_new_re_ingest_counts_every_row_once(book: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_actions, "CHUNK", 100)
    path = tmp_path / "actions.csv"
    path.write_text(csv_text(many_rows(250)))
    book.ingest_rows(book.read_action_file(str(path)))
    path.write_text(csv_text(many_rows(400)))
    seen: list[int] = []
    result = book.ingest_rows(book.read_action_file(str(path)), progress=seen.append)
    assert (result.new, result.already_present) == (150, 250)
    assert sum(seen) == 400


def test_the_ingest_bar_moves_during_a_re_ingest(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rich.console
    import rich.progress

    from cli import app as cli_app
    from ledger.importers import actions as importer

    monkeypatch.setattr(importer, "CHUNK_ROWS", 100)
    monkeypatch.setattr(cli_app, "PROGRESS_THRESHOLD_BYTES", 1)
    monkeypatch.setattr(rich.console.Console, "is_terminal", property(lambda self: True))
    positions: list[float] = []
    original = rich.progress.Progress.update

    def update(self, task, **kw):
        if "completed" in kw:
            positions.append(kw["completed"])
        return original(self, task, **kw)

    monkeypatch.setattr(rich.progress.Progress, "update", update)
    path = tmp_path / "actions.csv"
    path.write_text(csv_text(many_rows(2000)))
    cli("ingest", str(path))
    positions.clear()
    assert cli("ingest", str(path)).stdout.strip() == "0 new, 2000 already present"
    # The bar follows the bytes read, chunk by chunk, to the end of the file.
    assert len(set(positions)) >= 4 and positions == sorted(positions)
    assert positions[-1] == path.stat().st_size
