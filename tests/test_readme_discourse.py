"""The README's tour for forum admins runs as written on a generated forum (its database and
the stand-in for its API in place of forum-db and forum.example), on the default SQLite
ledger: after the SailPoint change (likes 3 to 6, posts 6 to 3, dated in the past), the
plugin's all-time recalculation shows the ledger's total for every user it scores, a second
push posts nothing and verify finds no difference."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from ledger import Ledger
from tests import discourse_plugin
from tests.discourse_forum import ForumPlan, log_setting_change
from tests.discourse_standin import SCORE_EVENTS, StandIn
from tests.standin_fixtures import API_KEY, API_USERNAME
from tests.test_discourse_import import PLANS, Forum, make_forum
from tests.test_discourse_plan import SAILPOINT_BEFORE, scored_totals
from tests.test_readme import ROOT

README_DSN = "postgresql://reader@forum-db/discourse"
README_URL = "https://forum.example"
CHANGED_ON = datetime(2025, 3, 1, 9)


def admin_tour() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Changing point values on a Discourse forum") :]
    block = re.search(r"```\n(.*?)```", section, re.DOTALL)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.strip()]


@pytest.fixture
def forum() -> Iterator[Forum]:
    yield from make_forum("G2", seed=41, plan=ForumPlan(settings={**PLANS["G2"].settings, **SAILPOINT_BEFORE}))


def test_the_forum_admin_tour_runs_as_written(forum: Forum, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SCORELEDGER_DATABASE_URL", raising=False)
    monkeypatch.delenv("SCORELEDGER_LEDGER", raising=False)
    runner = CliRunner()
    recalculate = lambda conn, since: discourse_plugin.calculate_scores(conn, "G2", since)  # noqa: E731
    outputs: dict[str, str] = {}
    changed = False
    with StandIn(forum.url, api_key=API_KEY, username=API_USERNAME, create_schema=False, recalculate=recalculate) as site:
        for line in admin_tour():
            if line.startswith("export "):
                name = line.split()[1].split("=")[0]
                monkeypatch.setenv(name, {"DISCOURSE_API_KEY": API_KEY, "DISCOURSE_API_USERNAME": API_USERNAME}[name])
                continue
            if line.startswith("#"):
                # The admin's change, as the comment says: likes 3 to 6, posts 6 to 3, dated back.
                assert "likes 3 to 6, posts 6 to 3" in line
                with forum.database.connect() as conn:
                    log_setting_change(conn, "like_received_score_value", "3", "6", CHANGED_ON)
                    log_setting_change(conn, "post_created_score_value", "6", "3", CHANGED_ON)
                changed = True
                continue
            words = shlex.split(line.replace(README_DSN, forum.url).replace(README_URL, site.url), comments=True)
            assert words[0] == "scoreledger"
            result = runner.invoke(app, words[1:])
            assert result.exit_code == 0, f"{line} exited {result.exit_code}: {result.output}"
            command = words[4] if words[3] == "discourse" else words[3]  # scoreledger --ledger forum [discourse] COMMAND
            outputs[command] = result.stdout + result.stderr
        posted = len(site.recorded("POST", SCORE_EVENTS))
        again = runner.invoke(app, ["--ledger", "forum", "discourse", "push", "--url", site.url, "--dsn", forum.url])
        assert again.exit_code == 0 and "posted now 0" in again.stdout
        assert len(site.recorded("POST", SCORE_EVENTS)) == posted
    assert changed and set(outputs) >= {"init", "import", "schedule-history", "plan", "push", "verify"}
    assert posted > 0 and f"posted now {posted}" in outputs["push"]
    assert (tmp_path / "plan.html").read_text().startswith("<!doctype html>")
    assert "the forum shows the ledger's total" in outputs["verify"]
    book = Ledger.open(f"sqlite:///{tmp_path / 'scoreledger.db'}", "forum")
    try:
        plugin, ledger = scored_totals(forum, book, None)
    finally:
        book.close()
    assert plugin == ledger
