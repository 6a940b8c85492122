"""The compensation plan on a generated forum: empty while point values never changed; after a
change dated in the past (likes 1 -> 6 and posts 2 -> 1, as the SailPoint community did), the
events it plans, once on the forum, make the plugin's own all-time recalculation show the
ledger's total for every user it scores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest

from ledger import Ledger
from ledger.discourse import settings as forum_settings
from ledger.discourse.forum import PostgresForum
from ledger.discourse.importer import import_forum
from ledger.discourse.plan import UNSCORED, make_plan
from ledger.domain import Adjustment
from tests import discourse_plugin
from tests.conftest import Cli
from tests.discourse_forum import log_setting_change
from tests.discourse_standin import StandIn
from tests.standin_fixtures import API_KEY, API_USERNAME, credentials  # noqa: F401 - a fixture
from tests.test_discourse_import import Forum, make_forum

CHANGED_ON = datetime(2025, 3, 1, 9)  # half-way through the generated activity (2025-01-01, 120 days)


@pytest.fixture(params=["G2", "G3"])
def forum(request: pytest.FixtureRequest) -> Iterator[Forum]:
    request.getfixturevalue("credentials")  # the stand-in's API key in the environment
    yield from make_forum(request.param, seed=23)


def import_everything(book: Ledger, forum: Forum) -> None:
    """The import, the point-value history and the forum's score events (as imported adjustments)."""
    with PostgresForum(forum.url) as source:
        report = import_forum(book, source)
        history = forum_settings.history(forum_settings.current_values(source), forum_settings.setting_changes(source))
    book.record_schedule(history, retroactive=True)
    book.record_adjustments([Adjustment(**event.adjustment_fields()) for event in report.score_events])


def post_plan(forum: Forum, plan, on: date) -> None:
    """What a push does on the forum: one score event per planned row."""
    with forum.database.connect() as conn:
        for row in plan.rows:
            conn.execute(
                "INSERT INTO gamification_score_events (user_id, date, points, description, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s, now(), now())",
                (row.user_id, on, row.difference, f"{plan.reason(row)} [scoreledger:{plan.key_for(row)}]"),
            )


def scored_totals(forum: Forum, book: Ledger, leaderboard_id: int | None) -> tuple[dict[int, int], dict[int, int]]:
    """(the plugin's all-time totals, the ledger's) for the users the plugin scores."""
    with forum.database.connect() as conn:
        discourse_plugin.calculate_scores(conn, forum.generation, include_events=True)
        plugin = discourse_plugin.totals(conn, forum.generation, leaderboard_id)
    with PostgresForum(forum.url) as source:
        from ledger.discourse.importer import read_users
        from ledger.discourse.scorables import detect_shape

        users = read_users(source, detect_shape(source))
    unscored = {user.user_id for user in users.values() if set(UNSCORED) & set(user.off_board)}
    ledger = {row.user_id: row.points for row in book.scores() if row.points and row.user_id not in unscored}
    return plugin, ledger


def test_a_point_change_planned_and_posted_makes_the_forum_show_the_ledgers_totals(forum: Forum, book: Ledger) -> None:
    import_everything(book, forum)
    with PostgresForum(forum.url) as source:
        from ledger.discourse.scorables import detect_shape

        shape = detect_shape(source)
        unchanged = make_plan(book, source, shape)
    assert unchanged.rows == [] and unchanged.users_compared > 0
    # The admin changes likes and posts; the staff log dates it in the past.
    with forum.database.connect() as conn:
        log_setting_change(conn, "like_received_score_value", "1", "6", CHANGED_ON)
        log_setting_change(conn, "post_created_score_value", "2", "1", CHANGED_ON)
    with PostgresForum(forum.url) as source:
        history = forum_settings.history(forum_settings.current_values(source), forum_settings.setting_changes(source))
    book.record_schedule(history, retroactive=True)
    book.recalc()
    with PostgresForum(forum.url) as source:
        plan = make_plan(book, source, shape)
    assert plan.rows, "a change in the past moves someone"
    assert len({plan.key_for(row) for row in plan.rows}) == len(plan.rows)
    cli = Cli(book.engine.url.render_as_string(hide_password=False))
    listed = cli("discourse", "plan", "--dsn", forum.url, "--format", "csv")
    assert listed.stdout.splitlines()[0] == "user_id,username,name,discourse_points,ledger_points,difference"
    assert len(listed.stdout.splitlines()) == len(plan.rows) + 1
    assert f"{len(plan.rows)} of {plan.users_compared} users move" in listed.stderr
    page = cli("discourse", "plan", "--dsn", forum.url, "--format", "html").stdout
    assert page.startswith("<!doctype html>") and "<svg" in page and "<script" not in page
    # Pushed through the forum's API (the stand-in over the same database), then the
    # plugin's own all-time recalculation, run by the forum.
    with StandIn(forum.url, api_key=API_KEY, username=API_USERNAME, create_schema=False,
                 recalculate=lambda conn, since: discourse_plugin.calculate_scores(conn, forum.generation, since)) as site:
        pushed = cli("discourse", "push", "--url", site.url, "--dsn", forum.url, "--rate", "6000", "--recalculate")
        assert f"posted now {len(plan.rows)}" in pushed.stdout
        again = cli("discourse", "push", "--url", site.url, "--dsn", forum.url, "--rate", "6000")
        assert "posted now 0" in again.stdout
        posts = [request for request in site.requests if request.method == "POST" and "score_events" in request.path]
        assert len(posts) == len(plan.rows)
    assert len(book.adjustments(kind="compensation")) == len(plan.rows)
    plugin, ledger = scored_totals(forum, book, plan.leaderboard_id)
    assert plugin == ledger
    assert "differ" not in cli("discourse", "verify", "--dsn", forum.url).stderr
    # Posted and counted: a second plan asks for nothing.
    with PostgresForum(forum.url) as source:
        assert make_plan(book, source, shape).rows == []
