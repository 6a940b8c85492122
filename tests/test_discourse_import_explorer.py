"""A hosted forum imported through Data Explorer (the stand-in runs the one shipped query on
the forum database with Data Explorer's rules): every user gets the plugin's total, and after
deleting, restoring, editing and merging on the forum a second import corrects exactly those,
as with --dsn."""

from __future__ import annotations

import json

import pytest

from ledger import Ledger
from ledger.discourse.explorer_query import compose
from ledger.discourse.queries import load
from tests.conftest import Cli
from tests.discourse_standin import StandIn
from tests.standin_fixtures import API_KEY, API_USERNAME
from tests.test_discourse_import import LONE_REPLY, NOW, _check_equal, _merge_in_forum, ledger_totals, make_forum, plugin_totals

QUERY_ID = 42


def test_the_shipped_query_is_the_composed_one() -> None:
    assert load("data_explorer").text == compose().strip()
    assert ";" not in compose() and "OFFSET" not in compose().upper()
    assert "FROM discourse_reactions_reaction_users" in compose() and "FROM discourse_reactions_reaction_users" not in compose(
        ("reactions",)
    )


def _counts(result) -> dict[str, dict[str, int]]:
    return {row["action"]: row for row in json.loads(result.stdout)}


@pytest.mark.parametrize("generation", ["G2", "G3"])
def test_import_through_data_explorer_equals_the_plugin_and_keeps_up(cli: Cli, monkeypatch: pytest.MonkeyPatch, generation: str) -> None:
    monkeypatch.setenv("DISCOURSE_API_KEY", API_KEY)
    monkeypatch.setenv("DISCOURSE_API_USERNAME", API_USERNAME)
    for forum in make_forum(generation, seed=7):
        with StandIn(forum.url, api_key=API_KEY, username=API_USERNAME) as server:
            # G2 predates per-leaderboard values and several answers per topic.
            server.add_query(QUERY_ID, compose(("leaderboards", "solved-answers")) if generation == "G2" else load("data_explorer").text)
            # A rate limit on the way: honoured, and the read goes on.
            server.add_fault("429_json_bare", 3, path="/admin/plugins/explorer/queries/")
            with forum.database.connect() as conn:
                off = {row[0] for row in conn.execute("SELECT id FROM users WHERE NOT active OR suspended_till >= now()")}
                on_board = [row[0] for row in conn.execute("SELECT id FROM users WHERE id > 0 AND active AND NOT staged ORDER BY id")]
                board = conn.execute("SELECT min(id) FROM gamification_leaderboards").fetchone()[0] if generation == "G3" else None
            if board is not None:
                # G3: a leaderboard's own values and categories, in a ledger of its own.
                name = f"leaderboard-{board}"
                cli("--ledger", name, "discourse", "import", "--url", server.url, "--query-id", str(QUERY_ID))
                cli(
                    "--ledger",
                    name,
                    "discourse",
                    "schedule-history",
                    "--url",
                    server.url,
                    "--query-id",
                    str(QUERY_ID),
                    "--leaderboard",
                    str(board),
                    "--apply",
                )
                expected = plugin_totals(forum, board, include_events=True)
                got = {user: points for user, points in ledger_totals(Ledger.open(cli.database_url, name)).items() if user not in off}
                assert expected and got == expected
                continue
            hosted = ("discourse", "import", "--url", server.url, "--query-id", str(QUERY_ID), "--format", "json")
            first = cli(*hosted)
            assert _counts(first)["post_created"]["added"] > 0
            cli("discourse", "schedule-history", "--url", server.url, "--query-id", str(QUERY_ID), "--apply")
            book = Ledger.open(cli.database_url)
            _check_equal(book, forum, off)
            calls = len(server.recorded("POST", "/admin/plugins/explorer/queries/"))
            with forum.database.connect() as conn:
                deleted, edited, hidden = [row[0] for row in conn.execute(LONE_REPLY).fetchall()]
                conn.execute(f"UPDATE posts SET deleted_at = {NOW} WHERE id = %s", (deleted,))
                # Hiding a post (flags, or a moderator) sets hidden_at, not updated_at.
                conn.execute(f"UPDATE posts SET hidden = true, hidden_at = {NOW} WHERE id = %s", (hidden,))
                # An edit that makes the reply a wiki: it stops scoring.
                conn.execute(f"UPDATE posts SET wiki = true, updated_at = {NOW} WHERE id = %s", (edited,))
            second = _counts(cli(*hosted))
            assert second["post_created"]["retracted"] == 3 and second["post_created"]["added"] == 0
            _check_equal(book, forum, off)
            with forum.database.connect() as conn:
                conn.execute(f"UPDATE posts SET wiki = false, updated_at = {NOW} WHERE id = %s", (edited,))
                _merge_in_forum(conn, on_board[1], on_board[2])
            third = cli(*hosted)
            assert _counts(third)["post_created"]["reinstated"] == 1
            assert "1 user merge(s)" in third.stderr and "every key was reconciled" in third.stderr
            _check_equal(book, forum, off)
            head = book.digest()
            again = cli(*hosted)
            assert "0 added, 0 retracted, 0 reinstated, 0 amended, 0 merged" in again.stderr
            assert book.digest().hash == head.hash
            assert len(server.recorded("POST", "/admin/plugins/explorer/queries/")) > calls
