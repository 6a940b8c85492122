"""Ingest reads a file a chunk at a time (bounded memory) and keeps every promise of a whole
batch: one transaction, repeats across chunks collapsed or refused, every problem reported,
nothing written when any row is bad; on both backends, on the plain and the bulk path."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from ledger import Ledger
from ledger.errors import InvalidInput
from ledger.importers import actions as importer
from ledger.problem_log import ProblemLog
from ledger.store import bulk_indexes
from ledger.store.tables import actions, batches
from tests.factories import action_row, csv_text, many_rows


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "CHUNK_ROWS", 100)


@pytest.fixture(params=["plain", "bulk"])
def path_taken(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "bulk":
        monkeypatch.setattr(bulk_indexes, "BULK_MIN_ROWS", 10)
    return request.param


def counts(book: Ledger) -> tuple[int, int]:
    with book.engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(actions)).scalar_one(),
            conn.execute(select(func.count()).select_from(batches)).scalar_one(),
        )


def write(tmp_path: Path, rows: list[list[str]], name: str = "a.csv") -> str:
    path = tmp_path / name
    path.write_text(csv_text(rows))
    return str(path)


def test_a_repeat_in_a_later_chunk_collapses(book: Ledger, tmp_path: Path, path_taken: str) -> None:
    rows = many_rows(450)
    rows.insert(420, rows[3])  # the same row again, four chunks later
    result = book.ingest_file(write(tmp_path, rows))
    assert (result.new, result.already_present) == (450, 1)
    assert counts(book) == (450, 1)


def test_a_repeat_with_another_payload_in_a_later_chunk_is_refused(book: Ledger, tmp_path: Path, path_taken: str) -> None:
    rows = many_rows(450)
    rows.insert(420, [*rows[3][:1], "999", *rows[3][2:]])
    with pytest.raises(InvalidInput) as caught:
        book.ingest_file(write(tmp_path, rows))
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (422, "user_id")
    assert "appears again" in problem.reason
    assert counts(book) == (0, 0)


def test_a_bad_row_in_the_last_chunk_leaves_nothing_written(book: Ledger, tmp_path: Path, path_taken: str) -> None:
    rows = many_rows(450)
    rows[440][3] = "yesterday"
    with pytest.raises(InvalidInput) as caught:
        book.ingest_file(write(tmp_path, rows))
    assert [problem.line for problem in caught.value.problems] == [442]
    assert counts(book) == (0, 0)


def test_a_partly_recorded_file_compares_every_chunk(book: Ledger, tmp_path: Path, path_taken: str) -> None:
    book.ingest_file(write(tmp_path, many_rows(250), "first.csv"))
    rows = many_rows(400)
    rows[310] = action_row("k310", user=1)  # new key
    rows[120] = [rows[120][0], "77777", *rows[120][2:]]  # recorded key, another user
    with pytest.raises(InvalidInput) as caught:
        book.ingest_file(write(tmp_path, rows))
    (problem,) = caught.value.problems
    assert problem.line == 122 and "already recorded" in problem.reason
    rows[120] = many_rows(400)[120]
    result = book.ingest_file(write(tmp_path, rows))
    assert (result.new, result.already_present) == (150, 250)
    assert counts(book) == (400, 2)


def test_standard_input_is_read_in_chunks_too(book: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    rows = many_rows(300)
    rows.append(rows[0])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(csv_text(rows).encode())))
    result = book.ingest_file("-")
    assert (result.new, result.already_present) == (300, 1)


def test_problems_past_the_memory_bound_are_all_kept() -> None:
    from ledger.errors import InputProblem

    log = ProblemLog(kept=3)
    for line in range(10):
        log.append(InputProblem("f.csv", line, "x", f"bad {line}"))
    assert len(log) == 10 and len(log.first) == 3
    assert [problem.line for problem in log] == list(range(10))
    assert [problem.line for problem in log[:2]] == [0, 1]
