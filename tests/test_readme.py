"""The README's tour runs as written, in order, on the default SQLite ledger."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app

ROOT = Path(__file__).resolve().parent.parent


def tour_commands() -> list[list[str]]:
    readme = (ROOT / "README.md").read_text()
    tour = readme[readme.index("## A short tour") :]
    block = re.search(r"```sh\n(.*?)```", tour, re.DOTALL)
    assert block is not None
    commands = [shlex.split(line, comments=True) for line in block.group(1).splitlines()]
    return [words for words in commands if words and words[0] == "scoreledger"]


def test_tour_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SCORELEDGER_DATABASE_URL", raising=False)
    monkeypatch.delenv("SCORELEDGER_LEDGER", raising=False)
    runner = CliRunner()
    commands = tour_commands()
    assert len(commands) >= 12
    outputs = {}
    for words in commands:
        result = runner.invoke(app, words[1:])
        assert result.exit_code == 0, f"{shlex.join(words)} exited {result.exit_code}: {result.output}"
        outputs[words[1]] = result.stdout
    assert (tmp_path / "scoreledger.db").exists()
    # The example community: user 42 earned 6 + 3 + 3 before the change and 60 + 6 after it.
    scores = dict(line.split(",")[:2] for line in outputs["scores"].strip().splitlines()[1:])
    assert scores["42"] == str(6 + 3 + 3 + 60 + 6)
    # User 7: a post (6), 230 posts read in buckets of 100 (2), a 4-star rating (40), a like at the new value (6).
    assert scores["7"] == str(6 + 2 + 40 + 6)
