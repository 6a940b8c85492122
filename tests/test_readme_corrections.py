"""The README's corrections tour runs as written after the short tour, on the default SQLite
ledger, and gives the totals the corrections imply."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from tests.test_readme import ROOT, tour_commands


def corrections_commands() -> list[list[str]]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Corrections") :]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None
    return [words for words in (shlex.split(line, comments=True) for line in block.group(1).splitlines()) if words]


def test_corrections_tour_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SCORELEDGER_DATABASE_URL", raising=False)
    monkeypatch.delenv("SCORELEDGER_LEDGER", raising=False)
    runner = CliRunner()
    outputs = {}
    for words in [*tour_commands(), *corrections_commands()]:
        assert words[0] == "scoreledger"
        result = runner.invoke(app, words[1:])
        assert result.exit_code == 0, f"{shlex.join(words)} exited {result.exit_code}: {result.output}"
        outputs[words[1]] = result.stdout
    scores = dict(line.split(",")[:2] for line in outputs["scores"].strip().splitlines()[1:])
    # 42: 78 in the tour, post:1001's 6 taken back, -3 adjusted, and user 99's 3 + 25 merged in.
    assert scores["42"] == str(78 - 6 - 3 + 3 + 25)
    # 7: 54 in the tour; 310 posts read make 3 buckets (+1); the rating 4 -> 5 (+10); the like
    # at the new value taken back (-6); 10 imported.
    assert scores["7"] == str(54 + 1 + 10 - 6 + 10)
    assert "99" not in scores
    audit = outputs["audit"]
    assert "retraction" in audit and ",99," in audit
