"""`scoreledger discourse ...` through the command line, as a user types it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import pytest
import yaml

from ledger import Ledger
from ledger.discourse import settings as forum_settings
from tests import discourse_plugin
from tests.conftest import Cli
from tests.discourse_forum import log_setting_change
from tests.test_discourse_import import Forum, ledger_totals, make_forum


@pytest.fixture(scope="module")
def g2_forum() -> Iterator[Forum]:
    yield from make_forum("G2", seed=5)


def test_import_then_history_apply_gives_the_plugins_totals(g2_forum: Forum, cli: Cli) -> None:
    result = cli("discourse", "import", "--dsn", g2_forum.url, "--format", "json")
    counts = {row["action"]: row for row in json.loads(result.stdout)}
    assert counts["post_created"]["added"] > 0 and counts["like_received"]["added"] > 0
    assert "generation G2 (detected)" in result.stderr
    shown = cli("discourse", "schedule-history", "--dsn", g2_forum.url, "--apply", "--format", "json")
    [version] = json.loads(shown.stdout)
    assert version["effective_from"] == forum_settings.FIRST_DAY.isoformat()
    assert "recorded 1 version(s)" in shown.stderr
    with g2_forum.database.connect() as conn:
        discourse_plugin.calculate_scores(conn, "G2", include_events=True)
        expected = discourse_plugin.totals(conn, "G2")
    book = Ledger.open(cli.database_url)
    off = {row[0] for row in _off_board(g2_forum)}
    assert {user: points for user, points in ledger_totals(book).items() if user not in off} == expected
    again = cli("discourse", "import", "--dsn", g2_forum.url, "--format", "json")
    assert all(row["added"] == row["amended"] == 0 for row in json.loads(again.stdout))
    assert all(row["found"] == 0 for row in json.loads(again.stdout) if row["action"] not in ("day_visited", "time_read", "post_read"))
    full = cli("discourse", "import", "--dsn", g2_forum.url, "--full", "--format", "json")
    rows = json.loads(full.stdout)
    assert all(row[name] == 0 for row in rows for name in ("added", "retracted", "reinstated", "amended", "merged"))
    assert {row["action"]: row["found"] for row in rows} == {row["action"]: row["found"] for row in counts.values()}
    assert "0 added, 0 retracted, 0 reinstated, 0 amended, 0 merged" in full.stderr
    assert "0 score-event adjustment(s)" in full.stderr


def _off_board(forum: Forum) -> list[tuple[int]]:
    with forum.database.connect() as conn:
        return conn.execute("SELECT id FROM users WHERE NOT active OR suspended_till >= now()").fetchall()


def test_dry_run_writes_nothing(g2_forum: Forum, cli: Cli) -> None:
    cli("init")
    result = cli("discourse", "import", "--dsn", g2_forum.url, "--dry-run", "--format", "csv")
    assert (
        result.stdout.splitlines()[0]
        == "action,found,would_be_added,would_be_retracted,would_be_reinstated,would_be_amended,would_be_merged,note"
    )
    assert ledger_totals(Ledger.open(cli.database_url)) == {}


def test_schedule_history_shows_and_records_dated_changes(cli: Cli) -> None:
    for forum in make_forum("G1", seed=3):
        with forum.database.connect() as conn:
            log_setting_change(conn, "like_received_score_value", "1", "4", datetime(2025, 2, 10, 12), details="more for helpers")
            log_setting_change(conn, "scorable_categories", "", "2|3", datetime(2025, 2, 10, 13))
            log_setting_change(conn, "post_created_score_value", "2", "0", datetime(2025, 3, 1))
        shown = cli("discourse", "schedule-history", "--dsn", forum.url, "--format", "json")
        versions = json.loads(shown.stdout)
        assert [v["effective_from"] for v in versions] == ["1970-01-01", "2025-02-10", "2025-03-01"]
        assert versions[1]["author"] == "user1" and "more for helpers" in versions[1]["reason"]
        assert "like_received=4 in categories 2|3" in versions[1]["rules"]
        assert "shown only" in shown.stderr
        cli("init")
        cli("discourse", "schedule-history", "--dsn", forum.url, "--apply")
        history = Ledger.open(cli.database_url).schedule_history()
        assert [h.version.effective_from.isoformat() for h in history] == ["1970-01-01", "2025-02-10", "2025-03-01"]
        assert history[0].version.rules["like_received"].value == 1
        assert history[2].version.rules["post_created"].value == 0
        again = cli("discourse", "schedule-history", "--dsn", forum.url, "--apply")
        assert "recorded 0 version(s), 3 already recorded" in again.stderr


def test_defaults_is_a_schedule_document_the_ledger_reads(cli: Cli, tmp_path) -> None:
    document = cli("discourse", "defaults").stdout
    [version] = yaml.safe_load(document)["versions"]
    assert version["rules"]["solution"] == {"value": 10}
    assert version["rules"]["time_read"] == {"value": 1, "per": 3600, "min_quantity": 60}
    path = tmp_path / "defaults.yaml"
    path.write_text(document)
    cli("init")
    cli("schedule", "import", str(path), "--retroactive")
    assert Ledger.open(cli.database_url).schedule_history()[0].version.rules["topic_created"].value == 5


def test_bad_input_is_one_clear_line(cli: Cli) -> None:
    result = cli("discourse", "import", "--dsn", "postgresql://nobody@127.0.0.1:1/none", ok=False)
    assert result.exit_code == 1 and "cannot reach the Discourse database" in result.stderr
    assert "Traceback" not in result.output
    result = cli("discourse", "import", "--dsn", "postgresql://x@127.0.0.1:1/none", "--generation", "G9", ok=False)
    assert result.exit_code == 1 and "is not one of G1, G2, G3" in result.stderr
    result = cli("discourse", "defaults", "--format", "xml", ok=False)
    assert result.exit_code == 1


def test_users_and_the_off_board_list_are_written(g2_forum: Forum, cli: Cli, tmp_path) -> None:
    users, exclude = tmp_path / "users.csv", tmp_path / "exclude.txt"
    cli("init")
    cli("discourse", "import", "--dsn", g2_forum.url, "--users-file", str(users), "--exclude-file", str(exclude))
    lines = users.read_text().splitlines()
    assert lines[0] == "user_id,username,name,off_board"
    assert "-1,system,system,system" in lines
    with g2_forum.database.connect() as conn:
        expected = {
            row[0]
            for row in conn.execute(
                "SELECT u.id FROM users u WHERE u.id <= 0 OR u.staged OR NOT u.active OR u.suspended_till >= now()"
                " OR EXISTS (SELECT 1 FROM user_emails e WHERE e.user_id = u.id AND e.email LIKE '%%@anonymized.invalid')"
                " OR EXISTS (SELECT 1 FROM anonymous_users a WHERE a.user_id = u.id)"
            ).fetchall()
        }
    assert {int(line) for line in exclude.read_text().split()} == expected
    shown = cli("leaderboard", "--exclude-users", str(exclude), "--format", "json")
    assert not {row["user_id"] for row in json.loads(shown.stdout)} & expected
    # A later import compares the names of only the users updated since; the files list every user still.
    later_users, later_exclude = tmp_path / "later-users.csv", tmp_path / "later-exclude.txt"
    later = cli("discourse", "import", "--dsn", g2_forum.url, "--users-file", str(later_users), "--exclude-file", str(later_exclude))
    assert "0 forum users updated since" in later.stderr
    assert later_users.read_text() == users.read_text() and later_exclude.read_text() == exclude.read_text()


def test_a_leaderboard_without_per_leaderboard_scoring_is_one_clear_line(g2_forum: Forum, cli: Cli) -> None:
    result = cli("discourse", "schedule-history", "--dsn", g2_forum.url, "--leaderboard", "1", ok=False)
    assert result.exit_code == 1 and "no per-leaderboard scoring (G3)" in result.stderr


def test_schedule_history_of_a_g3_leaderboard(cli: Cli) -> None:
    for forum in make_forum("G3", seed=8):
        board = forum.generated.leaderboard_ids[1]
        shown = cli("discourse", "schedule-history", "--dsn", forum.url, "--leaderboard", str(board), "--format", "json")
        [version] = json.loads(shown.stdout)
        assert "like_received=5 in categories 2|3" in version["rules"] and "solution=0" in version["rules"]
        missing = cli("discourse", "schedule-history", "--dsn", forum.url, "--leaderboard", "999", ok=False)
        assert missing.exit_code == 1 and "no leaderboard 999 on the forum" in missing.stderr


def test_the_forums_password_is_never_printed(cli: Cli) -> None:
    secret = "forum-s3cret-do-not-print"
    for dsn in (f"postgresql://discourse:{secret}@127.0.0.1:1/discourse", f"postgresql://discourse:{secret}@127.0.0.1:notaport/discourse"):
        result = cli("discourse", "import", "--dsn", dsn, ok=False)
        assert result.exit_code == 1
        assert secret not in result.output and secret not in (result.stderr or "")


def test_a_solution_accepted_again_for_another_answer_is_retracted_and_added(cli: Cli) -> None:
    for forum in make_forum("G1", seed=7):
        cli("discourse", "import", "--dsn", forum.url)
        cli("discourse", "schedule-history", "--dsn", forum.url, "--apply")
        with forum.database.connect() as conn:
            found = conn.execute(
                "SELECT s.id, s.answer_post_id, p.id FROM discourse_solved_solved_topics s"
                " JOIN topics t ON t.id = s.topic_id JOIN posts a ON a.id = s.answer_post_id JOIN posts p ON p.topic_id = t.id"
                " WHERE t.deleted_at IS NULL AND t.archetype = 'regular' AND a.deleted_at IS NULL AND a.user_id <> t.user_id"
                " AND p.id <> a.id AND p.deleted_at IS NULL AND p.user_id IS NOT NULL AND p.user_id <> t.user_id"
                " ORDER BY s.id, p.id LIMIT 1"
            ).fetchone()
            assert found is not None, "the forum has a solved topic with another reply"
            solved, old, new = found
            conn.execute("UPDATE discourse_solved_solved_topics SET answer_post_id = %s, updated_at = now() WHERE id = %s", (new, solved))
        dry = cli("discourse", "import", "--dsn", forum.url, "--full", "--dry-run", "--format", "json")
        counts = {row["action"]: row for row in json.loads(dry.stdout)}["solution"]
        assert (counts["would_be_added"], counts["would_be_retracted"]) == (1, 1)
        assert "1 would be added" not in dry.stderr and "would be 1 added, 1 retracted" in dry.stderr
        book = Ledger.open(cli.database_url)
        assert book.action_states([f"solved-answer:{old}"])[f"solved-answer:{old}"].active
        done = cli("discourse", "import", "--dsn", forum.url, "--full", "--format", "json")
        counts = {row["action"]: row for row in json.loads(done.stdout)}["solution"]
        assert (counts["added"], counts["retracted"]) == (1, 1)
        states = book.action_states([f"solved-answer:{old}", f"solved-answer:{new}"])
        assert not states[f"solved-answer:{old}"].active and states[f"solved-answer:{new}"].active
        with forum.database.connect() as conn:
            discourse_plugin.calculate_scores(conn, "G1", include_events=True)
            expected = discourse_plugin.totals(conn, "G1")
        assert ledger_totals(book) == expected
