"""Reading a shipped query through the stand-in's Data Explorer, page by page by key: every row
once, in key order, through 429s and 5xx, resumable from the last key."""

from __future__ import annotations

import psycopg
import pytest

from ledger.discourse.data_explorer import DataExplorerForum, iter_pages, iter_rows
from ledger.discourse.forum import NEVER, PostgresForum
from ledger.discourse.http import DiscourseClient, ForumUnavailable, QueryFailed, RetryPolicy
from ledger.discourse.queries import load
from tests.discourse_standin import StandIn
from tests.standin_fixtures import API_KEY, API_USERNAME, _forum_database_once, credentials, forum_database, standin  # noqa: F401

# Written as the importer's shipped queries are: declared params, no `;`, paged by key.
EVENTS_BY_KEY = """-- [params]
-- bigint :after = 0
-- int :limit = 10000
-- date :since = 2000-01-01
-- every score event from :since on, by id
SELECT e.id AS key, e.user_id, e.date, e.points, e.description, e.created_at
FROM gamification_score_events AS e
WHERE e.id > :after AND e.date >= :since
ORDER BY e.id
LIMIT :limit"""

RUN = "/admin/plugins/explorer/queries/"


def fill(server: StandIn, rows: int) -> None:
    with psycopg.connect(server.database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO gamification_score_events (user_id, date, points, description, created_at, updated_at) "
            "SELECT g %% 97, date '2025-01-01' + (g %% 300), g %% 11, 'row ' || g, timestamp '2025-01-01 10:00' + g * interval '1 minute', now() "
            "FROM generate_series(1, %s) g",
            (rows,),
        )


def test_every_row_once_in_key_order_in_few_calls(standin: StandIn) -> None:  # noqa: F811
    fill(standin, 2500)
    standin.add_query(7, EVENTS_BY_KEY)
    client = DiscourseClient(standin.url, rate_per_minute=None)
    rows = list(iter_rows(client, 7, page_size=1000))
    assert [row["key"] for row in rows] == list(range(1, 2501))
    assert rows[0] == {
        "key": 1,
        "user_id": 1,
        "date": "2025-01-02",
        "points": 1,
        "description": "row 1",
        "created_at": "2025-01-01T10:01:00.000Z",
    }
    assert len(standin.recorded("POST", RUN)) == 3  # 1000 + 1000 + 500: the short page ends it


def test_a_page_size_above_the_default_cap_is_not_cut_to_1000(standin: StandIn) -> None:  # noqa: F811
    fill(standin, 4200)
    standin.add_query(7, EVENTS_BY_KEY)
    client = DiscourseClient(standin.url, rate_per_minute=None)
    pages = list(iter_pages(client, 7, page_size=3000))
    assert [len(page.rows) for page in pages] == [3000, 1200]
    assert [page.after for page in pages] == [0, 3000]


def test_other_params_are_passed_and_an_exact_multiple_ends_on_an_empty_page(standin: StandIn) -> None:  # noqa: F811
    fill(standin, 600)
    standin.add_query(7, EVENTS_BY_KEY)
    client = DiscourseClient(standin.url, rate_per_minute=None)
    rows = list(iter_rows(client, 7, params={"since": "2025-10-01"}, page_size=100))
    assert rows and all(row["date"] >= "2025-10-01" for row in rows)
    full = list(iter_rows(client, 7, page_size=200))
    assert len(full) == 600


def test_resume_from_the_last_key_after_the_forum_gave_up(standin: StandIn) -> None:  # noqa: F811
    fill(standin, 2300)
    standin.add_query(7, EVENTS_BY_KEY)
    # The third call fails past every retry: the read stops after two pages.
    standin.add_fault("error500", 3, 4, path=RUN)
    client = DiscourseClient(standin.url, rate_per_minute=None, retry=RetryPolicy(attempts=2, backoff=0.01))
    checkpoints: list[int] = []
    seen: list[int] = []
    with pytest.raises(ForumUnavailable):
        for row in iter_rows(client, 7, page_size=500, checkpoint=checkpoints.append):
            seen.append(row["key"])
    assert checkpoints == [500, 1000]
    resumed = [row["key"] for row in iter_rows(client, 7, page_size=500, after=checkpoints[-1])]
    assert sorted(set(seen[: checkpoints[-1]]) | set(resumed)) == list(range(1, 2301))
    assert resumed[0] == 1001


def test_paging_through_429s_and_5xx(standin: StandIn) -> None:  # noqa: F811
    fill(standin, 1500)
    standin.add_query(7, EVENTS_BY_KEY)
    standin.add_fault("429_json_bare", 2, path=RUN)
    standin.add_fault("error500", 4, path=RUN)
    client = DiscourseClient(standin.url, rate_per_minute=None, retry=RetryPolicy(backoff=0.01))
    assert [row["key"] for row in iter_rows(client, 7, page_size=400)] == list(range(1, 1501))


def test_rows_read_as_text_still_page_by_key(forum_database, credentials: None) -> None:  # noqa: F811
    with StandIn(forum_database.url, api_key=API_KEY, username=API_USERNAME, row_values="text") as server:
        fill(server, 250)
        server.add_query(7, EVENTS_BY_KEY)
        client = DiscourseClient(server.url, rate_per_minute=None)
        rows = list(iter_rows(client, 7, page_size=100))
    assert [int(row["key"]) for row in rows] == list(range(1, 251))


def test_a_query_not_ordered_by_key_is_refused(standin: StandIn) -> None:  # noqa: F811
    fill(standin, 50)
    standin.add_query(8, EVENTS_BY_KEY.replace("ORDER BY e.id", "ORDER BY e.id DESC"))
    standin.add_query(
        9, "-- [params]\n-- bigint :after = 0\n-- int :limit = 10\nSELECT id FROM gamification_score_events WHERE id > :after LIMIT :limit"
    )
    client = DiscourseClient(standin.url, rate_per_minute=None)
    with pytest.raises(QueryFailed, match="keys do not rise"):
        list(iter_rows(client, 8, page_size=10))
    with pytest.raises(QueryFailed, match="no `key` column"):
        list(iter_rows(client, 9, page_size=10))


class Named:
    def __init__(self, name: str) -> None:
        self.name = name


def test_the_importers_forum_seam_runs_every_query_through_one_saved_query(credentials: None) -> None:  # noqa: F811
    from tests.test_discourse_import import make_forum

    for forum in make_forum("G3", seed=3):
        with StandIn(forum.url, api_key=API_KEY, username=API_USERNAME) as server:
            server.add_query(11, load("data_explorer").text)
            source = DataExplorerForum(DiscourseClient(server.url, rate_per_minute=None), 11)
            rows = source.run(load("score_events"), {"after": 1, "limit": 2})
            assert [row["key"] for row in rows] == [2, 3] and set(rows[0]) == {"key", "user_id", "date", "points", "description"}
            assert source.run(load("forum_shape"), {})[0]["gamification_leaderboard_scores"] is True
            with PostgresForum(forum.url) as database:
                for name in ("post_created", "users", "user_id_runs"):
                    params = {"after": -1000, "limit": 50, **({"changed_since": NEVER} if load(name).reads_changes else {})}
                    direct = database.run(load(name), params)
                    hosted = source.run(load(name), params)
                    assert [row["key"] for row in hosted] == [row["key"] for row in direct] and hosted
            assert {request.path for request in server.recorded("POST", RUN)} == {f"{RUN}11/run"}
            server.add_query(12, EVENTS_BY_KEY)
            with pytest.raises(QueryFailed, match="not scoreledger's"):
                DataExplorerForum(DiscourseClient(server.url, rate_per_minute=None), 12).run(
                    Named("score_events"), {"after": 0, "limit": 5}
                )
