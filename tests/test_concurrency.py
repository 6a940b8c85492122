"""Concurrency: several `scoreledger ingest` processes racing on overlapping input end with
every action exactly once and one valid hash chain (the journal lock serialises writers)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ledger import Ledger
from ledger.store.tables import actions, batches
from tests.factories import csv_text, many_rows
from tests.processes import start

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
    new = 0
    for child in children:
        stdout, stderr = child.communicate(timeout=600)
        assert child.returncode == 0, stderr
        new += int(re.match(r"(\d+) new", stdout).group(1))  # type: ignore[union-attr]
    with book.engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(actions)).scalar_one()
        keys = conn.execute(select(func.count(actions.c.source_key.distinct()))).scalar_one()
        journal = conn.execute(select(func.count()).select_from(batches)).scalar_one()
    assert (events, keys, new) == (TOTAL, TOTAL, TOTAL)
    assert 1 <= journal <= WRITERS
    result = book.verify()
    assert (result.events, result.head.last_seq) == (TOTAL, TOTAL)
