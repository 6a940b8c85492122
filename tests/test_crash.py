"""Faults: the ingest and recalc processes killed with SIGKILL at random (seeded) moments
inside their write transactions, and on PostgreSQL the server itself stopped mid-COPY.
Afterwards the journal verifies, no batch or recalculation is half-written, running the same
command again finishes the job, and the projections equal a rebuild from scratch."""

from __future__ import annotations

import random
import shutil
import signal
import sqlite3
import subprocess
import time
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from ledger import Ledger, Rule
from ledger.replay import PROJECTION_LOCK_KEY, is_behind
from ledger.store.engine import JOURNAL_LOCK_KEY, normalize_url, read_transaction
from ledger.store.tables import actions, batches, daily_scores, projection_state, user_totals
from tests.factories import csv_text, many_rows
from tests.processes import run, start, start_python
from tests.test_full_rebuild import ledger_with_likes

pytestmark = pytest.mark.slow

SEED = 20261122
TRIALS = 20
ROWS_PER_TRIAL = 1_500


def journal_size(book: Ledger) -> tuple[int, int]:
    """(batches, action events) as committed."""
    with book.engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(batches)).scalar_one(),
            conn.execute(select(func.count()).select_from(actions)).scalar_one(),
        )


def writer_active(book: Ledger, lock_key: int = JOURNAL_LOCK_KEY) -> bool:
    """Whether some process holds `lock_key` (on SQLite: the write lock), i.e. is inside the
    write transaction it guards."""
    if book.engine.dialect.name == "postgresql":
        with book.engine.connect() as conn:
            return bool(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                        "AND objid = :key AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                    ),
                    {"key": lock_key},
                ).scalar_one()
            )
    assert book.engine.url.database is not None
    probe = sqlite3.connect(book.engine.url.database, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def kill_while_writing(book: Ledger, child: subprocess.Popen[str], delay: float, lock_key: int = JOURNAL_LOCK_KEY) -> bool:
    """SIGKILL `child` `delay` seconds after it takes `lock_key`. False if it ended first."""
    while not writer_active(book, lock_key):
        if child.poll() is not None:
            return False
        time.sleep(0.002)
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait()
    return True


def lock_hold_time(book: Ledger, child: subprocess.Popen[str], lock_key: int = JOURNAL_LOCK_KEY) -> float:
    """How long `child` holds `lock_key` (its write transaction), watched from outside."""
    while not writer_active(book, lock_key):
        assert child.poll() is None, f"it ended before taking the lock: {child.communicate()}"
        time.sleep(0.002)
    began = time.monotonic()
    while writer_active(book, lock_key) and child.poll() is None:
        time.sleep(0.002)
    held = time.monotonic() - began
    assert child.wait() == 0, child.communicate()
    return max(0.01, held)


def test_ingest_killed_at_random_points(book: Ledger, database_url: str, tmp_path: Path, cli) -> None:
    rng = random.Random(SEED)
    files = []
    for trial in range(TRIALS + 1):
        path = tmp_path / f"trial{trial}.csv"
        path.write_text(csv_text(many_rows(ROWS_PER_TRIAL, prefix=f"t{trial}-")))
        files.append(str(path))
    # One undisturbed run measures how long the write transaction lasts here; each kill then
    # lands at a random moment inside it (or just after the commit).
    write_time = lock_hold_time(book, start(database_url, "ingest", files[0]))
    expected_events = ROWS_PER_TRIAL
    interrupted = 0
    for trial in range(1, TRIALS + 1):
        before = journal_size(book)
        child = start(database_url, "ingest", files[trial])
        kill_while_writing(book, child, rng.uniform(0, 1.2 * write_time))
        after = journal_size(book)
        book.verify()
        # All or nothing: either the whole batch committed or none of it is visible.
        assert after in (before, (before[0] + 1, before[1] + ROWS_PER_TRIAL)), (trial, before, after)
        interrupted += after == before
        cli("ingest", files[trial])  # the same command again finishes the job
        expected_events += ROWS_PER_TRIAL
        assert journal_size(book)[1] == expected_events
    book.verify()
    print(f"\n{interrupted} of {TRIALS} kills landed before the commit")
    assert interrupted > 0, "no kill landed before the commit: the trials tested nothing"


RECALC = "import sys; from ledger import Ledger; Ledger.open(sys.argv[1]).recalc(full=sys.argv[2] == 'full')"


def projections(book: Ledger) -> tuple[list[tuple], list[tuple], int | None]:
    """Everything the projections say about the ledger, in one snapshot."""
    with read_transaction(book.engine) as conn:
        daily = conn.execute(select(daily_scores).order_by(daily_scores.c.user_id, daily_scores.c.day)).all()
        totals = conn.execute(select(user_totals).order_by(user_totals.c.user_id)).all()
        through = conn.execute(select(projection_state.c.through_seq)).scalar()
    return [tuple(row) for row in daily], [tuple(row) for row in totals], through


def test_recalc_killed_at_random_points(book: Ledger, database_url: str, tmp_path: Path) -> None:
    rng = random.Random(SEED + 1)
    path = tmp_path / "history.csv"
    path.write_text(csv_text(many_rows(6_000, users=200)))
    book.ingest_file(str(path))
    book.set_schedule(date(2023, 1, 1), {"likes_received": Rule(value=3), "posts_created": Rule(value=6)}, retroactive=True)
    book.recalc(full=True)
    # A recalculation that completes here shows how long its transaction lasts.
    recalc_time = lock_hold_time(book, start_python(RECALC, database_url, "full"), PROJECTION_LOCK_KEY)
    interrupted = 0
    for trial in range(TRIALS):
        # Give the next run something to do: new actions, or a point-value change that reaches back.
        if trial % 2:
            extra = tmp_path / f"extra{trial}.csv"
            extra.write_text(csv_text(many_rows(200, prefix=f"x{trial}-", start=datetime(2023, 6, 1))))
            book.ingest_file(str(extra))
        else:
            book.set_schedule(date(2023, 3, 1 + trial), {"likes_received": Rule(value=trial + 1)}, retroactive=True)
        before = projections(book)
        child = start_python(RECALC, database_url, rng.choice(["full", "incremental"]))
        kill_while_writing(book, child, rng.uniform(0, 1.2 * recalc_time), PROJECTION_LOCK_KEY)
        killed = projections(book)
        book.verify()
        book.recalc()  # running it again finishes the job...
        finished = projections(book)
        book.recalc(full=True)
        assert projections(book) == finished  # ...and agrees with a rebuild from scratch
        # A recalculation is one transaction: the projections are the old ones or the new ones.
        assert killed in (before, finished), f"trial {trial}: a half-done recalculation is visible"
        interrupted += killed == before
    print(f"\n{interrupted} of {TRIALS} kills landed before the commit")
    assert interrupted > 0, "no kill landed before the commit: the trials tested nothing"


# -- PostgreSQL stopped mid-COPY ----------------------------------------------------------------


class PostgresControl:
    """Stops and starts the local PostgreSQL server the tests run against."""

    def __init__(self, admin_url: str) -> None:
        engine = create_engine(normalize_url(admin_url))
        with engine.connect() as conn:
            self.data_dir = conn.exec_driver_sql("SHOW data_directory").scalar_one()
            self.config_file = conn.exec_driver_sql("SHOW config_file").scalar_one()
            self.major = int(conn.exec_driver_sql("SHOW server_version_num").scalar_one()) // 10000
        engine.dispose()
        self.bin = Path(f"/usr/lib/postgresql/{self.major}/bin")
        if not Path(self.data_dir).is_dir() or not (self.bin / "pg_ctl").exists():
            pytest.fail(
                f"this test stops the PostgreSQL server, so it must run on the server's machine "
                f"(data directory {self.data_dir}, pg_ctl in {self.bin})"
            )

    def _as_postgres(self, *args: str) -> None:
        line = " ".join(args)
        # pg_ctl refuses to run as root; the server's own account runs it.
        subprocess.run(["su", "postgres", "-c", line], check=True, capture_output=True, timeout=60)

    def stop_immediately(self) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", self.data_dir, "-m", "immediate", "stop")

    def start(self) -> None:
        if shutil.which("pg_ctlcluster"):
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", str(self.major), Path(self.data_dir).name, "start"],
                capture_output=True,
                timeout=60,
            )
        else:
            self._as_postgres(
                str(self.bin / "pg_ctl"),
                "-D",
                self.data_dir,
                "-o",
                f"'-c config_file={self.config_file}'",
                "-l",
                "/tmp/scoreledger-test-postgres.log",
                "-w",
                "start",
            )

    def bring_back(self, server, url) -> None:
        """Start the server again and wait until it answers: other suites share it."""
        self.start()
        self.wait_ready(url.host or "127.0.0.1", url.port or 5432)
        server.admin.dispose()

    def wait_ready(self, host: str, port: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready = subprocess.run([str(self.bin / "pg_isready"), "-h", host, "-p", str(port), "-q"], capture_output=True)
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        pytest.fail("PostgreSQL did not come back within 60 s")


def copy_in_progress(admin, database: str) -> bool:
    with admin.connect() as conn:
        return bool(
            conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %(db)s AND query LIKE 'COPY actions%%'",
                {"db": database},
            ).scalar_one()
        )


@pytest.mark.stops_server
@pytest.mark.parametrize("backend", ["postgresql"])
def test_postgres_stopped_during_copy(book: Ledger, database_url: str, tmp_path: Path, request) -> None:
    server = request.getfixturevalue("postgres_server")
    control = PostgresControl(server.admin_url)
    path = tmp_path / "big.csv"
    path.write_text(csv_text(many_rows(200_000)))
    url = book.engine.url
    assert url.database is not None
    child = start(database_url, "ingest", str(path))
    try:
        deadline = time.monotonic() + 60
        while not copy_in_progress(server.admin, url.database):
            assert child.poll() is None, f"ingest ended before its COPY was seen: {child.communicate()}"
            assert time.monotonic() < deadline, "no COPY seen within 60 s"
            time.sleep(0.01)
        time.sleep(random.Random(SEED).uniform(0.0, 0.3))
        control.stop_immediately()
    finally:
        control.bring_back(server, url)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().startswith("error:"), stderr

    book.engine.dispose()
    assert journal_size(book) == (0, 0)  # the batch died with the server: nothing half-written
    book.verify()
    again = run(database_url, "ingest", str(path))
    assert again.returncode == 0, again.stderr
    assert journal_size(book) == (1, 200_000)
    book.verify()


# -- PostgreSQL crashed with the projections written -------------------------------------------


@pytest.mark.stops_server
@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_server_crash_empties_the_projections_and_the_next_read_rebuilds_them(book: Ledger, request) -> None:
    """The projections are UNLOGGED (migration 0009): crash recovery empties them, and
    projection_state with them, so the ledger knows it has projected nothing."""
    server = request.getfixturevalue("postgres_server")
    control = PostgresControl(server.admin_url)
    ledger_with_likes(book, "default", value=3, users=range(1, 6))
    book.recalc()
    scores, board = book.scores(), book.leaderboard(limit=3)
    assert projections(book)[0], "nothing was projected: the crash would test nothing"
    url = book.engine.url
    book.engine.dispose()
    try:
        control.stop_immediately()
    finally:
        control.bring_back(server, url)
    assert projections(book) == ([], [], None)
    assert is_behind(book.engine, book.name)
    assert book.scores() == scores  # caught up: rebuilt from the events, which the crash kept
    assert book.leaderboard(limit=3) == board
    book.verify()
