"""Concurrency: several `scoreledger ingest` processes racing on overlapping input end with
every action exactly once and one valid hash chain (the journal lock serialises writers)."""

from __future__ import annotations

import re
import time
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ledger import Ledger, Rule
from ledger.store.engine import read_transaction
from ledger.store.tables import actions, batches, daily_scores, user_totals
from tests.factories import csv_text, many_rows
from tests.processes import start, start_python

pytestmark = pytest.mark.slow

TOTAL = 200_000
WRITERS = 4


def test_four_writers_ingesting_overlapping_batches(book: Ledger, database_url: str, tmp_path: Path) -> None:
    rows = many_rows(TOTAL)
    # Writer i takes a window of half the actions starting at i/4 of the way: every action is
    # in two windows, and together they cover all of them.
    window = TOTAL // 2
    paths = []
    for writer in range(WRITERS):
        begin = writer * TOTAL // WRITERS
        part = [rows[(begin + offset) % TOTAL] for offset in range(window)]
        path = tmp_path / f"writer{writer}.csv"
        path.write_text(csv_text(part))
        paths.append(str(path))
    children = [start(database_url, "ingest", path) for path in paths]
    verified = 0
    while any(child.poll() is None for child in children):
        # Verification reads one snapshot: it passes while writers commit around it.
        verified += book.verify().batches >= 0
        time.sleep(0.1)
    new = 0
    for child in children:
        stdout, stderr = child.communicate(timeout=600)
        assert child.returncode == 0, stderr
        counted = re.match(r"(\d+) new", stdout)
        assert counted is not None, stdout
        new += int(counted.group(1))
    with book.engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(actions)).scalar_one()
        keys = conn.execute(select(func.count(actions.c.source_key.distinct()))).scalar_one()
        journal = conn.execute(select(func.count()).select_from(batches)).scalar_one()
    assert (events, keys, new) == (TOTAL, TOTAL, TOTAL)
    assert verified > 0
    assert 1 <= journal <= WRITERS
    result = book.verify()
    assert (result.events, result.head.last_seq) == (TOTAL, TOTAL)


RECALC_LOOP = (
    "import sys; from ledger import Ledger; book = Ledger.open(sys.argv[1])\n"
    "for run in range(int(sys.argv[2])): book.recalc(full=run % 3 == 2)"
)


def consistent_projections(book: Ledger) -> list[tuple]:
    """The projections in one snapshot, after checking each user's total is the sum of their days."""
    with read_transaction(book.engine) as conn:
        daily = conn.execute(
            select(daily_scores.c.user_id, daily_scores.c.day, daily_scores.c.points).order_by(daily_scores.c.user_id, daily_scores.c.day)
        ).all()
        totals = dict(conn.execute(select(user_totals.c.user_id, user_totals.c.points)).all())
    sums: dict[int, int] = {}
    for user, _, points in daily:
        sums[user] = sums.get(user, 0) + points
    assert sums == totals
    return [tuple(row) for row in daily]


def test_recalc_during_ingest_and_schedule_changes(book: Ledger, database_url: str, tmp_path: Path) -> None:
    base = tmp_path / "base.csv"
    base.write_text(csv_text(many_rows(5_000, users=300)))
    book.ingest_file(str(base))
    book.set_schedule(date(2023, 1, 1), {"likes_received": Rule(value=3), "posts_created": Rule(value=6)}, retroactive=True)
    book.recalc(full=True)
    more = []
    for part in range(4):
        path = tmp_path / f"more{part}.csv"
        path.write_text(csv_text(many_rows(2_000, prefix=f"m{part}-", start=datetime(2023, 2, 1))))
        more.append(str(path))
    recalcs = start_python(RECALC_LOOP, database_url, "6")
    ingests = [start(database_url, "ingest", path) for path in more]
    for step in range(4):
        # Point-value changes that reach back into what is being recalculated.
        book.set_schedule(date(2023, 2, 1 + step), {"likes_received": Rule(value=4 + step)}, retroactive=True)
        consistent_projections(book)
    while any(child.poll() is None for child in [recalcs, *ingests]):
        consistent_projections(book)  # never a half-applied recalculation, at any moment
        time.sleep(0.05)
    for child in [recalcs, *ingests]:
        assert child.returncode == 0, child.communicate()
    book.recalc()
    caught_up = consistent_projections(book)
    book.recalc(full=True)
    assert consistent_projections(book) == caught_up
    assert book.verify().events == 5_000 + 4 * 2_000 + 5
