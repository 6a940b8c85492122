"""The CLI owns its process, so its ingest runs with Python's cyclic collector paused (the
library never pauses it itself), and gives the collector back as it found it, also when the
file is refused."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from ledger import Ledger
from tests.factories import csv_text, many_rows


def test_an_ingest_runs_with_the_collector_paused_and_gives_it_back(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    ingest_source = Ledger.ingest_source

    def watched(self: Ledger, *args, **kwargs):
        seen.append(gc.isenabled())
        return ingest_source(self, *args, **kwargs)

    monkeypatch.setattr(Ledger, "ingest_source", watched)
    path = tmp_path / "actions.csv"
    path.write_text(csv_text(many_rows(50)))
    assert cli("ingest", str(path)).stdout.strip() == "50 new, 0 already present"
    assert seen == [False]
    assert gc.isenabled()

    refused = tmp_path / "refused.csv"
    refused.write_text("source_key,user_id,action,occurred_at\nk-late,1,likes_received,not a time\n")
    result = cli("ingest", str(refused), ok=False)
    assert result.exit_code != 0
    assert seen == [False, False]
    assert gc.isenabled()


def test_the_library_leaves_the_collector_alone_when_it_ingests(book: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    switched: list[str] = []
    monkeypatch.setattr(gc, "disable", lambda: switched.append("disable"))
    monkeypatch.setattr(gc, "freeze", lambda: switched.append("freeze"))
    path = tmp_path / "actions.csv"
    path.write_text(csv_text(many_rows(50)))
    assert book.ingest_file(str(path)).new == 50
    assert switched == []
