"""The compensation plan on a generated forum: empty while point values never changed; after a
change dated in the past (likes 3 to 6 and posts 6 to 3, as the SailPoint community did), the
events it plans, once on the forum, make the plugin's own all-time recalculation show the
ledger's total for every user it scores. A second change a year later plans only what it
requires: the earlier compensations are in the ledger and on the forum."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import cast

import pytest

from ledger import Ledger
from ledger.discourse import settings as forum_settings
from ledger.discourse.explorer_query import compose
from ledger.discourse.forum import PostgresForum
from ledger.discourse.importer import import_forum
from ledger.discourse.plan import ALL_TIME, UNSCORED, Plan, PlanRow, make_plan
from ledger.discourse.push import key_in, marker
from ledger.discourse.queries import load
from ledger.domain import Adjustment
from tests import discourse_plugin
from tests.conftest import Cli
from tests.discourse_forum import ForumPlan, log_setting_change
from tests.discourse_standin import StandIn
from tests.standin_fixtures import API_KEY, API_USERNAME, credentials  # noqa: F401 - a fixture
from tests.test_discourse_import import PLANS, Forum, make_forum

CHANGED_ON = datetime(2025, 3, 1, 9)  # half-way through the generated activity (2025-01-01, 120 days)
# The values before the change, set on the forum outside the staff log (as at its import).
SAILPOINT_BEFORE = {"like_received_score_value": "3", "post_created_score_value": "6"}
# The change: likes 3 to 6 and posts 6 to 3, logged on a past date.
SAILPOINT_CHANGE = [("like_received_score_value", "3", "6"), ("post_created_score_value", "6", "3")]


@pytest.fixture(params=["G2", "G3"])
def forum(request: pytest.FixtureRequest) -> Iterator[Forum]:
    request.getfixturevalue("credentials")  # the stand-in's API key in the environment
    settings = {**PLANS[request.param].settings, **SAILPOINT_BEFORE}
    yield from make_forum(request.param, seed=23, plan=ForumPlan(settings=settings))


def import_everything(book: Ledger, forum: Forum) -> None:
    """The import, the point-value history and the forum's score events (as imported adjustments)."""
    with PostgresForum(forum.url) as source:
        report = import_forum(book, source)
        history = forum_settings.history(forum_settings.current_values(source), forum_settings.setting_changes(source))
    book.record_schedule(history, retroactive=True)
    book.record_adjustments([Adjustment(**event.adjustment_fields()) for event in report.score_events])


def change_values(book: Ledger, forum: Forum, changes: list[tuple[str, str, str]], at: datetime) -> None:
    """Settings changed on the forum's admin page (dated `at` in the staff log), then the
    ledger's history rebuilt from the log and recalculated."""
    with forum.database.connect() as conn:
        for name, before, after in changes:
            log_setting_change(conn, name, before, after, at)
    with PostgresForum(forum.url) as source:
        history = forum_settings.history(forum_settings.current_values(source), forum_settings.setting_changes(source))
    book.record_schedule(history, retroactive=True)
    book.recalc()


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
    # A forum's ledger names its users by their integer forum ids.
    ledger = {cast(int, row.user_id): row.points for row in book.scores() if row.points and row.user_id not in unscored}
    return plugin, ledger


def test_a_point_change_planned_and_posted_makes_the_forum_show_the_ledgers_totals(forum: Forum, book: Ledger) -> None:
    import_everything(book, forum)
    with PostgresForum(forum.url) as source:
        from ledger.discourse.scorables import detect_shape

        shape = detect_shape(source)
        unchanged = make_plan(book, source, shape)
    assert unchanged.rows == [] and unchanged.users_compared > 0
    # The admin changes likes and posts; the staff log dates it in the past.
    change_values(book, forum, SAILPOINT_CHANGE, CHANGED_ON)
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
    with StandIn(
        forum.url,
        api_key=API_KEY,
        username=API_USERNAME,
        create_schema=False,
        recalculate=lambda conn, since: discourse_plugin.calculate_scores(conn, forum.generation, since),
    ) as site:
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


# The second change, a year after the first: likes 6 to 4.
SECOND_CHANGE = [("like_received_score_value", "6", "4")]
FIRST_PUSH_ON = date(2025, 6, 1)  # after the generated activity (2025-01-01, 120 days)
SECOND_PUSH_ON = date(2026, 3, 2)


def test_a_second_change_a_year_later_plans_only_what_it_requires(forum: Forum, book: Ledger) -> None:
    import_everything(book, forum)
    cli = Cli(book.engine.url.render_as_string(hide_password=False))
    recalculate = lambda conn, since: discourse_plugin.calculate_scores(conn, forum.generation, since)  # noqa: E731
    with StandIn(forum.url, api_key=API_KEY, username=API_USERNAME, create_schema=False, recalculate=recalculate) as site:

        def push(on: date) -> tuple[str, list[str]]:
            """Push the plan priced on `on` and have the forum recalculate; the output and the keys posted."""
            before = len(site.events())
            result = cli(
                "discourse", "push", "--url", site.url, "--dsn", forum.url, "--as-of", on.isoformat(), "--rate", "6000", "--recalculate"
            )
            # Every event the push posted carries its key.
            return result.stdout, [cast(str, key_in(event["description"])) for event in site.events()[before:]]

        change_values(book, forum, SAILPOINT_CHANGE, CHANGED_ON)
        _, first_keys = push(FIRST_PUSH_ON)
        assert first_keys and len(book.adjustments(kind="compensation")) == len(first_keys)
        assert "differ" not in cli("discourse", "verify", "--dsn", forum.url).stderr
        # A year later: the forum's new activity (none here) imported again, our events
        # recognised by their marker and left out; then the second change.
        truth = {row.user_id: row.points for row in book.scores()}
        cli("discourse", "import", "--dsn", forum.url)
        book.recalc()
        assert {row.user_id: row.points for row in book.scores()} == truth
        change_values(book, forum, SECOND_CHANGE, CHANGED_ON.replace(year=CHANGED_ON.year + 1))
        with PostgresForum(forum.url) as source:
            from ledger.discourse.scorables import detect_shape

            second = make_plan(book, source, detect_shape(source), as_of=SECOND_PUSH_ON)
        # What the change requires: the ledger's total against the plugin's all-time
        # recalculation at the new values, the first compensations included.
        plugin, ledger = scored_totals(forum, book, second.leaderboard_id)
        required = {user: ledger.get(user, 0) - plugin.get(user, 0) for user in set(plugin) | set(ledger)}
        assert {row.user_id: row.difference for row in second.rows} == {user: gap for user, gap in required.items() if gap}
        assert second.rows and len(second.rows) < second.users_compared
        shown, second_keys = push(SECOND_PUSH_ON)
        assert f"posted now {len(second.rows)}" in shown
        assert sorted(second_keys) == sorted(second.key_for(row) for row in second.rows)
        assert not set(second_keys) & set(first_keys)
        plugin, ledger = scored_totals(forum, book, second.leaderboard_id)
        assert plugin == ledger
        third, third_keys = push(SECOND_PUSH_ON)
        assert "posted now 0" in third and third_keys == []
    assert len(book.adjustments(kind="compensation")) == len(first_keys) + len(second_keys)
    verified = cli("discourse", "verify", "--dsn", forum.url)
    assert "differ" not in verified.stderr and "the forum shows the ledger's total" in verified.stderr


def test_a_second_compensation_of_the_same_size_on_the_same_day_gets_a_key_of_its_own() -> None:
    row = PlanRow(7, "seven", None, 100, 112)
    first = Plan(ALL_TIME, SECOND_PUSH_ON, rows=[row])
    second = Plan(ALL_TIME, SECOND_PUSH_ON, rows=[row], earlier_compensations={7: 1})
    assert first.key_for(row) == "comp-20260302-u7-n1-p12" == Plan(ALL_TIME, SECOND_PUSH_ON, rows=[row]).key_for(row)
    assert second.key_for(row) == "comp-20260302-u7-n2-p12"


QUERY_ID = 42


def test_verify_reads_a_hosted_forum_through_data_explorer(forum: Forum, book: Ledger) -> None:
    """`verify --url --query-id` reads the forum through the saved query and says what
    `verify --dsn` says: agreement after the import and the plugin's all-time recalculation,
    then an event carrying our marker that the ledger does not know (exit 1)."""
    import_everything(book, forum)
    with forum.database.connect() as conn:
        discourse_plugin.calculate_scores(conn, forum.generation, include_events=True)
    cli = Cli(book.engine.url.render_as_string(hide_password=False))
    # G2 predates per-leaderboard values and several answers per topic.
    query = compose(("leaderboards", "solved-answers")) if forum.generation == "G2" else load("data_explorer").text
    with StandIn(forum.url, api_key=API_KEY, username=API_USERNAME, create_schema=False) as site:
        site.add_query(QUERY_ID, query)
        hosted = ("discourse", "verify", "--url", site.url, "--query-id", str(QUERY_ID))
        agreed = cli(*hosted)
        assert "the forum shows the ledger's total" in agreed.stderr
        assert agreed.stderr == cli("discourse", "verify", "--dsn", forum.url).stderr
        assert site.recorded("POST", "/admin/plugins/explorer/queries/")
        with forum.database.connect() as conn:
            conn.execute(
                "INSERT INTO gamification_score_events (user_id, date, points, description, created_at, updated_at) "
                "VALUES (1, DATE '2025-06-01', 5, %s, now(), now())",
                (f"made by hand {marker('comp-20250601-u1-n1-p5')}",),
            )
        differs = cli(*hosted, ok=False)
    assert differs.exit_code == 1
    assert "marked [scoreledger:comp-20250601-u1-n1-p5] that the ledger does not know" in differs.stderr
    assert differs.stderr == cli("discourse", "verify", "--dsn", forum.url, ok=False).stderr


def test_a_hosted_forum_is_planned_pushed_and_verified_through_data_explorer(forum: Forum, book: Ledger) -> None:
    """The whole change on a forum read only through its API: the plan through the saved query
    equals the plan from the database, the push plans through it too, and after the plugin's
    recalculation verify through it finds the forum showing the ledger's totals."""
    import_everything(book, forum)
    change_values(book, forum, SAILPOINT_CHANGE, CHANGED_ON)
    cli = Cli(book.engine.url.render_as_string(hide_password=False))
    query = compose(("leaderboards", "solved-answers")) if forum.generation == "G2" else load("data_explorer").text
    recalculate = lambda conn, since: discourse_plugin.calculate_scores(conn, forum.generation, since)  # noqa: E731
    with StandIn(forum.url, api_key=API_KEY, username=API_USERNAME, create_schema=False, recalculate=recalculate) as site:
        site.add_query(QUERY_ID, query)
        hosted = ("--url", site.url, "--query-id", str(QUERY_ID))
        planned = cli("discourse", "plan", *hosted, "--format", "csv")
        assert len(planned.stdout.splitlines()) > 1
        assert planned.stdout == cli("discourse", "plan", "--dsn", forum.url, "--format", "csv").stdout
        pushed = cli("discourse", "push", *hosted, "--rate", "6000", "--recalculate")
        assert f"posted now {len(planned.stdout.splitlines()) - 1}" in pushed.stdout
        verified = cli("discourse", "verify", *hosted)
    assert "the forum shows the ledger's total" in verified.stderr
