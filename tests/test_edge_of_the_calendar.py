"""Input at the edges of the calendar and of 64 bits, and SQLite's operational failures, end
in one clear line, never a traceback; read-only commands neither speak of writing nor create
a database (issue 23)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.errors import NotInitialized, StoreError
from ledger.standings import Period, period_window
from tests.conftest import Cli
from tests.factories import action_row, csv_text

BEYOND_64_BITS = str(2**70)


def _clean_failure(result, *words: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for word in words:
        assert word in result.stderr


@pytest.fixture
def recorded(book: Ledger, cli, tmp_path: Path):
    rows = [action_row("a", user=1, when="9999-12-31T12:00:00"), action_row("b", user=2, when="0001-01-01T00:00:00")]
    (tmp_path / "a.csv").write_text(csv_text(rows))
    book.ingest_file(str(tmp_path / "a.csv"))
    cli("schedule", "set", "--effective-from", "0001-01-01", "--retroactive", "likes_received=3", "--new-action")
    return cli


@pytest.mark.parametrize("period", [p.value for p in Period])
def test_leaderboard_at_the_last_day_of_the_calendar(recorded, period: str) -> None:
    result = recorded("leaderboard", "--period", period, "--at", "9999-12-31", "--format", "csv")
    lines = result.stdout.strip().splitlines()
    assert lines[1:2] == ["1,1,3"]


@pytest.mark.parametrize("period", [p.value for p in Period if p is not Period.all])
def test_leaderboard_at_the_first_day_of_the_calendar(recorded, period: str) -> None:
    result = recorded("leaderboard", "--period", period, "--at", "0001-01-01", "--format", "csv")
    assert result.stdout.strip().splitlines()[1:2] == ["1,2,3"]


@pytest.mark.parametrize(
    ("first", "last"),
    [("9999-12-01", "9999-12-31"), ("9999-10-01", "9999-12-31"), ("9999-01-01", "9999-12-31"), ("9999-12-31", "9999-12-31")],
)
def test_ranges_in_year_9999(recorded, first: str, last: str) -> None:
    result = recorded("leaderboard", "--from", first, "--to", last, "--format", "csv")
    assert result.stdout.strip().splitlines()[1:] == ["1,1,3"]
    assert "1,3" in recorded("scores", "--from", first, "--to", last, "--format", "csv").stdout


def test_period_windows_end_with_the_calendar() -> None:
    assert period_window(Period.week, date(9999, 12, 31)) == (date(9999, 12, 27), date(9999, 12, 31))
    assert period_window(Period.month, date(9999, 12, 5)) == (date(9999, 12, 1), date(9999, 12, 31))
    assert period_window(Period.quarter, date(9999, 11, 5)) == (date(9999, 10, 1), date(9999, 12, 31))
    assert period_window(Period.month, date(2024, 2, 5)) == (date(2024, 2, 1), date(2024, 2, 29))
    assert period_window(Period.quarter, date(2024, 12, 31)) == (date(2024, 10, 1), date(2024, 12, 31))


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"])
def test_as_known_at_outside_the_calendar_in_utc(recorded, moment: str) -> None:
    result = recorded("scores", "--as-known-at", moment, ok=False)
    _clean_failure(result, "outside the years 1 to 9999")
    assert "nothing was written" not in result.stderr


def test_ids_and_limits_beyond_64_bits(recorded, tmp_path: Path) -> None:
    # An id beyond 64 bits is a user key like any text (ledger/user_keys.py): this ledger
    # has simply never seen it.
    _clean_failure(recorded("audit", BEYOND_64_BITS, ok=False), BEYOND_64_BITS, "has no recorded actions")
    excluded = tmp_path / "excluded.txt"
    excluded.write_text(f"{BEYOND_64_BITS}\n2\n")
    board = recorded("leaderboard", "--exclude-users", str(excluded), "--format", "csv").stdout.strip().splitlines()
    assert [line.split(",")[1] for line in board[1:]] == ["1"]
    # A limit beyond any ledger's size is the same as none.
    limited = recorded("leaderboard", "--limit", BEYOND_64_BITS, "--format", "csv")
    assert len(limited.stdout.strip().splitlines()) == 3


def test_read_commands_do_not_speak_of_writing(recorded, tmp_path: Path) -> None:
    unreadable = tmp_path / "exclude.txt"
    unreadable.write_text("7\n" + "u" * 201 + "\n")
    for args in (
        ["leaderboard", "--exclude-users", str(unreadable)],
        ["leaderboard", "--exclude-users", str(tmp_path / "missing.txt")],
        ["leaderboard", "--from", "2024-05-02", "--to", "2024-05-01"],
        ["scores", "--from", "2024-13-01"],
        ["leaderboard", "--limit", "0"],
        ["audit", "1", "--from", "yesterday"],
    ):
        result = recorded(*args, ok=False)
        _clean_failure(result)
        assert "nothing was written" not in result.stderr, args


def test_a_mistyped_database_is_not_created_by_reads(tmp_path: Path) -> None:
    target = tmp_path / "mistyped.db"
    cli = Cli(f"sqlite:///{target}")
    for args in (["scores"], ["leaderboard"], ["verify"], ["audit", "1"], ["schedule", "show"]):
        result = cli(*args, ok=False)
        _clean_failure(result, "no database at", "scoreledger init")
        assert not target.exists(), args
    with pytest.raises(NotInitialized):
        Ledger.open(f"sqlite:///{target}").scores()
    assert not target.exists()
    cli("init")
    assert target.exists()
    assert cli("verify").exit_code == 0


def _scoreledger(*args: str, another_user: bool = False) -> subprocess.CompletedProcess:
    """`scoreledger ARGS` in a process of its own, which closes the database as a real
    command does (SQLite then removes its -wal and -shm files)."""
    command = [str(Path(sys.executable).parent / "scoreledger"), *args]
    if another_user and os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: file permissions cannot be tested")
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _as_another_user(*args: str) -> subprocess.CompletedProcess:
    """`scoreledger ARGS` in a process that file permissions apply to: root ignores them, so
    as root the command runs as nobody."""
    return _scoreledger(*args, another_user=True)


@pytest.fixture
def read_only_folder() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="scoreledger-ro-"))
    try:
        yield folder
    finally:
        os.chmod(folder, 0o700)
        shutil.rmtree(folder)


def test_a_read_only_database_is_read_and_writes_say_why(read_only_folder: Path) -> None:
    path = read_only_folder / "ledger.db"
    url = f"sqlite:///{path}"
    (read_only_folder / "a.csv").write_text(csv_text([action_row("a", user=1)]))
    for args in (
        ["init"],
        ["ingest", str(read_only_folder / "a.csv")],
        ["schedule", "set", "--effective-from", "2024-01-01", "--retroactive", "likes_received=3", "--new-action"],
        ["recalc"],
    ):
        assert _scoreledger("--db", url, *args).returncode == 0, args
    # As every command leaves it: no -wal or -shm file, which SQLite must create to read.
    assert sorted(child.name for child in read_only_folder.iterdir()) == ["a.csv", "ledger.db"]
    os.chmod(path, 0o444)
    os.chmod(read_only_folder, 0o555)  # neither the file nor its folder can be written
    scores = _as_another_user("--db", url, "scores", "--format", "csv")
    assert scores.returncode == 0 and "1,3" in scores.stdout, scores.stderr
    verified = _as_another_user("--db", url, "verify")
    assert verified.returncode == 0, verified.stderr
    os.chmod(read_only_folder, 0o755)
    (read_only_folder / "b.csv").write_text(csv_text([action_row("b", user=1)]))
    os.chmod(read_only_folder, 0o555)
    refused = _as_another_user("--db", url, "ingest", str(read_only_folder / "b.csv"))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "read-only" in refused.stderr


def test_read_only_folders_and_files_say_why() -> None:
    """Stand-ins for the errors SQLite gives on a read-only folder or file system."""
    from ledger.store.engine import translate

    def sqlite_error(message: str, code_name: str) -> sqlite3.OperationalError:
        error = sqlite3.OperationalError(message)
        error.sqlite_errorname = code_name  # what sqlite3 sets on the errors it raises
        return error

    folder = translate(sqlite_error("unable to open database file", "SQLITE_CANTOPEN"))
    assert "read-only" in str(folder) and "-wal" in str(folder)
    file = translate(sqlite_error("attempt to write a readonly database", "SQLITE_READONLY_DIRECTORY"))
    assert "read-only" in str(file) and "where the database is writable" in str(file)
    # By code, not by wording: the same words under another code are another error.
    assert "read-only" not in str(translate(sqlite_error("attempt to write a readonly database", "SQLITE_ERROR")))


def test_a_writer_waiting_on_another_says_who_holds_it_and_to_retry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    Cli(url)("init")
    holder = sqlite3.connect(tmp_path / "ledger.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        monkeypatch.setattr("ledger.store.engine.SQLITE_BUSY_TIMEOUT", 0.2)
        (tmp_path / "a.csv").write_text(csv_text([action_row("a")]))
        result = Cli(url)("ingest", str(tmp_path / "a.csv"), ok=False)
        _clean_failure(result, "locked", "another scoreledger process", "run it again")
        with pytest.raises(StoreError, match="run it again"):
            book = Ledger.open(url)
            book.ingest_file(str(tmp_path / "a.csv"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
