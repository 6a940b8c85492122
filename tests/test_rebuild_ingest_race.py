"""A full rebuild priced in two sessions and a bulk ingest cannot deadlock (issue 23).

The rebuild's main session reads actions (ACCESS SHARE, held to its commit) and then waits,
in Python, for a helper session to price another part. A bulk ingest that asks for ACCESS
EXCLUSIVE on actions in between queues behind the main session, and the helper's ACCESS
SHARE queues behind that request: PostgreSQL sees no cycle, since one edge runs through
Python, and all three waited forever. The ingest now takes the projection lock first, the
lock the rebuild holds throughout, so it waits for the rebuild before asking for ACCESS
EXCLUSIVE. This test makes the race happen every time instead of 3 runs in 6 at 2M actions.
"""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from ledger import Ledger, Rule, ScheduleVersion, rebuild
from ledger.replay import PROJECTION_LOCK_KEY
from ledger.store import bulk_indexes
from ledger.store.engine import PROJECTION_LOCK_KEY as STORE_PROJECTION_LOCK_KEY
from ledger.store.engine import normalize_url
from tests.factories import action_row, csv_text

# Longer than any wait the test needs; a deadlock ends in an error instead of hanging.
LOCK_TIMEOUT_MS = 20_000


def test_the_store_names_the_rebuild_lock() -> None:
    assert STORE_PROJECTION_LOCK_KEY == PROJECTION_LOCK_KEY


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_bulk_ingest_during_a_rebuild_in_two_parts_does_not_deadlock(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"{database_url}?options=-c%20lock_timeout%3D{LOCK_TIMEOUT_MS}"
    book = Ledger.open(url)
    first = [action_row(f"a{i}", user=i % 7 + 1, when=f"202{i % 3}-{i % 12 + 1:02d}-1{i % 9}T10:00:00") for i in range(300)]
    (tmp_path / "first.csv").write_text(csv_text(first))
    book.ingest_file(str(tmp_path / "first.csv"))
    book.record_schedule([ScheduleVersion(effective_from=date(2020, 1, 1), rules={"likes_received": Rule(value=2)})], retroactive=True)
    with book.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE actions")  # the rebuild splits by the planner's row estimate
    monkeypatch.setattr(rebuild, "PARALLEL_MIN_ACTIONS", 1)
    monkeypatch.setattr(bulk_indexes, "BULK_MIN_ROWS", 1)

    main_priced, helper_may_go = threading.Event(), threading.Event()
    price_part, price_in_snapshot = rebuild._price_part, rebuild._price_part_in_snapshot

    def main_part(conn, ledger, ledger_id, part, days, **options):
        rows = price_part(conn, ledger, ledger_id, part, days, **options)
        if part is None:
            main_priced.set()  # it has read actions, and now waits for the helper
        return rows

    def late_helper(*args):
        helper_may_go.wait(60)
        return price_in_snapshot(*args)

    monkeypatch.setattr(rebuild, "_price_part", main_part)
    monkeypatch.setattr(rebuild, "_price_part_in_snapshot", late_helper)

    outcomes: dict[str, Any] = {}

    def run(name: str, work) -> None:
        try:
            outcomes[name] = work()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertions below
            outcomes[name] = exc

    second = [action_row(f"b{i}", user=i % 5 + 1, when="2022-06-01T10:00:00") for i in range(400)]
    (tmp_path / "second.csv").write_text(csv_text(second))
    other = Ledger.open(url)
    rebuilding = threading.Thread(target=run, args=("rebuild", lambda: book.recalc(full=True)))
    ingesting = threading.Thread(target=run, args=("ingest", lambda: other.ingest_file(str(tmp_path / "second.csv"))))
    rebuilding.start()
    assert main_priced.wait(30), outcomes
    ingesting.start()
    watcher = create_engine(normalize_url(database_url), isolation_level="AUTOCOMMIT")
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with watcher.connect() as conn:
                if conn.exec_driver_sql("SELECT count(*) FROM pg_locks WHERE NOT granted").scalar_one():
                    break  # the ingest waits for the rebuild
            time.sleep(0.05)
        else:
            pytest.fail(f"the ingest never waited for the rebuild: {outcomes}")
    finally:
        watcher.dispose()
    helper_may_go.set()
    rebuilding.join(90)
    ingesting.join(90)
    assert not rebuilding.is_alive() and not ingesting.is_alive()
    assert not isinstance(outcomes["rebuild"], BaseException), outcomes["rebuild"]
    assert not isinstance(outcomes["ingest"], BaseException), outcomes["ingest"]
    assert outcomes["rebuild"].full
    assert outcomes["ingest"].new == 400
    monkeypatch.undo()
    points = {row.user_id: row.points for row in book.scores()}
    expected: dict[int, int] = {}
    for i in range(300):
        expected[i % 7 + 1] = expected.get(i % 7 + 1, 0) + 2
    for i in range(400):
        expected[i % 5 + 1] = expected.get(i % 5 + 1, 0) + 2
    assert points == expected
    book.close()
    other.close()
