"""Period totals (ledger/rollups.py): a calendar month's, quarter's or year's leaderboard
reads period_totals, and gives what summing daily_scores over the period gives, after any
mix of ingests, retroactive schedule changes and full or incremental recalculations."""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from datetime import time as clock
from unittest import mock

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select, text, update

from ledger import Action, Ledger, Rule, ScheduleVersion, rebuild, standings
from ledger.pricing import prepare_scratch
from ledger.rebuild import rebuild_projections
from ledger.replay import PROJECTION_LOCK_KEY
from ledger.standings import Period, Ranking, period_window, rollup_of
from ledger.store import ledger_numbers, schema
from ledger.store.engine import open_engine, write_transaction
from ledger.store.schema import migrate
from ledger.store.tables import daily_scores, period_totals, projection_state
from tests.test_replay_properties import ACTION_TYPES, PROPERTY_SETTINGS, attributes, rules

# Eight months across a year's end, so that actions fall in several months, quarters and years.
FIRST = date(2023, 11, 1)
SPAN = 240
_ledger_names = itertools.count()


# -- which windows read period_totals ----------------------------------------------------


@pytest.mark.parametrize(
    ("from_day", "to_day", "expected"),
    [
        (date(2024, 2, 1), date(2024, 2, 29), (Period.month, date(2024, 2, 1))),
        (date(2024, 4, 1), date(2024, 6, 30), (Period.quarter, date(2024, 4, 1))),
        (date(2024, 1, 1), date(2024, 12, 31), (Period.year, date(2024, 1, 1))),
        (date(2024, 2, 1), date(2024, 2, 28), None),  # a day short of February 2024
        (date(2024, 2, 2), date(2024, 3, 1), None),  # a month's length, not a calendar month
        (date(2024, 1, 1), date(2024, 6, 30), None),  # two quarters
        (date(2024, 5, 13), date(2024, 5, 19), None),  # a week
        (date(2024, 5, 15), date(2024, 5, 15), None),  # a day
        (date(2024, 2, 1), None, None),  # open end
        (None, date(2024, 2, 29), None),
    ],
)
def test_only_exact_calendar_periods_read_the_rollup(from_day: date | None, to_day: date | None, expected: tuple | None) -> None:
    assert rollup_of(from_day, to_day) == expected


def likes(user: int, count: int, day: date) -> list[Action]:
    moment = datetime.combine(day, clock())
    return [
        Action(source_key=f"u{user}-{day}-{i}", user_id=user, action="likes_received", occurred_at=moment + timedelta(minutes=i))
        for i in range(count)
    ]


def test_period_leaderboards_read_period_totals(book: Ledger) -> None:
    book.set_schedule(date(2024, 1, 1), {"likes_received": Rule(value=1)}, retroactive=True)
    book.record_actions(likes(1, 3, date(2024, 2, 10)) + likes(2, 2, date(2024, 2, 11)))
    book.recalc()
    with book.engine.begin() as conn:  # a projection row changed behind the ledger's back
        number = ledger_numbers.number_of(conn, book.name)
        conn.execute(
            update(period_totals)
            .where(period_totals.c.ledger_id == number, period_totals.c.period_months == 1, period_totals.c.user_id == 2)
            .values(points=7)
        )
    month = [(s.user_id, s.points) for s in book.leaderboard(period=Period.month, at=date(2024, 2, 20))]
    assert month == [(2, 7), (1, 3)]
    same_month = book.leaderboard(from_day=date(2024, 2, 1), to_day=date(2024, 2, 29))
    assert [(s.user_id, s.points) for s in same_month] == month
    # Any other window still sums the daily rows.
    days = book.leaderboard(from_day=date(2024, 2, 1), to_day=date(2024, 2, 28))
    assert [(s.user_id, s.points) for s in days] == [(1, 3), (2, 2)]


def test_users_without_points_in_the_period_rank_with_zero(book: Ledger) -> None:
    book.set_schedule(date(2024, 1, 1), {"likes_received": Rule(value=2)}, retroactive=True)
    visit = Action(source_key="v", user_id=3, action="visited", occurred_at=datetime(2024, 5, 2))  # no rule: 0 points
    book.record_actions(likes(1, 2, date(2024, 5, 1)) + likes(2, 2, date(2024, 4, 30)) + [visit])
    quarter = book.leaderboard(period=Period.quarter, at=date(2024, 5, 1), ranking=Ranking.rank)
    assert [(s.rank, s.user_id, s.points) for s in quarter] == [(1, 1, 4), (1, 2, 4), (3, 3, 0)]
    month = book.leaderboard(period=Period.month, at=date(2024, 5, 1), exclude=[1])
    assert [(s.rank, s.user_id, s.points) for s in month] == [(1, 3, 0)]


# -- the property: period totals are the sums of the daily rows ---------------------------


def day_offsets() -> st.SearchStrategy[int]:
    # Month, quarter and year boundaries, often; any day of the span otherwise.
    edges = [(day - FIRST).days for day in (date(2023, 12, 31), date(2024, 1, 1), date(2024, 3, 31), date(2024, 4, 1), date(2024, 6, 30))]
    return st.one_of(st.sampled_from(edges), st.integers(0, SPAN - 1))


versions = st.builds(
    ScheduleVersion,
    # Retroactive changes land anywhere, including before the first action.
    effective_from=st.integers(-5, SPAN).map(lambda offset: FIRST + timedelta(days=offset)),
    rules=st.dictionaries(st.sampled_from(ACTION_TYPES), rules, min_size=1, max_size=3),
)


@st.composite
def batches(draw, max_size: int = 10) -> list[Action]:
    return [
        Action(
            source_key=f"k{i}",
            user_id=draw(st.integers(1, 5)),
            action=draw(st.sampled_from(ACTION_TYPES + ["unpriced"])),
            occurred_at=datetime.combine(FIRST + timedelta(days=draw(day_offsets())), clock(draw(st.integers(0, 23)))),
            quantity=draw(st.integers(0, 4)),
            attributes=draw(attributes),
        )
        for i in range(draw(st.integers(1, max_size)))
    ]


steps = st.lists(
    st.one_of(
        st.tuples(st.just("ingest"), batches()),
        st.tuples(st.just("schedule"), versions),
        st.tuples(st.just("recalc"), st.booleans()),  # full or incremental
    ),
    min_size=1,
    max_size=10,
)

boards = st.fixed_dictionaries(
    {
        "period": st.sampled_from(standings.ROLLUP_PERIODS),
        "at": st.integers(-40, SPAN + 40).map(lambda offset: FIRST + timedelta(days=offset)),
        "explicit": st.booleans(),  # as --period/--at, or as the same window given by --from/--to
        "ranking": st.sampled_from(Ranking),
        "limit": st.none() | st.integers(1, 4),
        "exclude": st.frozensets(st.integers(1, 5), max_size=2),
    }
)


def empty_rollups_of_earlier_examples(book: Ledger) -> None:
    """Examples share the test's database; each starts with period_totals empty, so that a
    full rebuild takes PostgreSQL's path for a table that holds only its ledger."""
    with book.engine.begin() as conn:
        conn.execute(delete(period_totals))


def period_sums(book: Ledger) -> dict[tuple[str, date, int | str], int]:
    """Every (period, first day, user) of the ledger's daily rows, with its points summed."""
    sums: dict[tuple[str, date, int | str], int] = defaultdict(int)
    for user, day, points in book.daily_points():
        for period in standings.ROLLUP_PERIODS:
            start, _ = period_window(period, day)  # type: ignore[misc]
            sums[(period.value, start, user)] += points
    return dict(sums)


def stored_period_totals(book: Ledger) -> dict[tuple[str, date, int], int]:
    with book.engine.connect() as conn:
        number = ledger_numbers.number_of(conn, book.name)
        rows = conn.execute(select(period_totals).where(period_totals.c.ledger_id == number)).all()
    period_of = {months: period.value for period, months in standings.ROLLUP_MONTHS.items()}
    return {(period_of[row.period_months], row.period_start, row.user_id): row.points for row in rows}


def board(book: Ledger, query: dict, *, daily: bool = False) -> list[standings.Standing]:
    """A leaderboard as the query asks; with `daily`, summed from daily_scores as for any
    other window."""
    window = {"period": query["period"], "at": query["at"]}
    if query["explicit"]:
        first, last = period_window(query["period"], query["at"])  # type: ignore[misc]
        window = {"from_day": first, "to_day": last}
    options = {key: query[key] for key in ("ranking", "limit", "exclude")}
    if not daily:
        return book.leaderboard(**window, **options)
    with mock.patch.object(standings, "rollup_of", return_value=None):
        return book.leaderboard(**window, **options)


def assert_rollups_match_daily_rows(book: Ledger, queries: list[dict]) -> None:
    assert stored_period_totals(book) == period_sums(book)
    for query in queries:
        assert board(book, query) == board(book, query, daily=True)


def liked(key: str, user: int, day: date) -> Action:
    return Action(source_key=key, user_id=user, action="likes_received", occurred_at=datetime.combine(day, clock(12)))


# Points that go down and a user who joins at 0, in incremental runs: rarer in random plans.
LOWERED_THEN_JOINED = [
    ("schedule", ScheduleVersion(effective_from=FIRST, rules={"likes_received": Rule(value=5)})),
    ("ingest", [liked("a", 1, date(2024, 1, 1)), liked("b", 2, date(2024, 3, 31))]),
    ("recalc", False),
    ("schedule", ScheduleVersion(effective_from=date(2024, 2, 1), rules={"likes_received": Rule(value=2)})),
    ("recalc", False),
    ("ingest", [Action(source_key="c", user_id=3, action="unpriced", occurred_at=datetime(2024, 3, 2))]),
]
QUARTER_RANKED = {
    "period": Period.quarter,
    "at": date(2024, 2, 1),
    "explicit": False,
    "ranking": Ranking.rank,
    "limit": None,
    "exclude": frozenset(),
}


@PROPERTY_SETTINGS
@given(plan=steps, queries=st.lists(boards, min_size=1, max_size=4), crowded=st.booleans(), in_parts=st.booleans())
@example(plan=LOWERED_THEN_JOINED, queries=[QUARTER_RANKED], crowded=False, in_parts=False)
def test_period_totals_are_the_sums_of_daily_rows(
    book: Ledger, plan: list[tuple], queries: list[dict], crowded: bool, in_parts: bool
) -> None:
    """`in_parts`: full recalcs price and total in parts however few the actions (on
    PostgreSQL; SQLite prices in one part)."""
    # -1: the row estimate of a table never analyzed, as the examples' may be.
    with mock.patch.object(rebuild, "PARALLEL_MIN_ACTIONS", -1 if in_parts else rebuild.PARALLEL_MIN_ACTIONS):
        check_period_totals(book, plan, queries, crowded)


def check_period_totals(book: Ledger, plan: list[tuple], queries: list[dict], crowded: bool) -> None:
    empty_rollups_of_earlier_examples(book)
    ledger = Ledger(book.engine, f"rollup{next(_ledger_names)}")
    neighbour = Ledger(book.engine, f"rollup{next(_ledger_names)}")
    if crowded:  # another ledger's totals in the table: a rebuild must leave them alone
        neighbour.set_schedule(FIRST, {"likes_received": Rule(value=5)}, retroactive=True)
        neighbour.record_actions(likes(1, 2, FIRST) + likes(9, 1, date(2024, 2, 1)))
        neighbour.recalc(full=True)
    for index, (kind, argument) in enumerate(plan):
        if kind == "ingest":
            # Keys unique to this step, so no step repeats another's source_key.
            ledger.record_actions([event.model_copy(update={"source_key": f"s{index}-{event.source_key}"}) for event in argument])
        elif kind == "schedule":
            ledger.record_schedule([argument], retroactive=True)
        else:
            ledger.recalc(full=argument)
            assert_rollups_match_daily_rows(ledger, queries)
    ledger.recalc()
    assert_rollups_match_daily_rows(ledger, queries)
    if crowded:
        assert stored_period_totals(neighbour) == period_sums(neighbour) != {}


# -- upgrading a database, and reading during a rebuild ------------------------------------


def test_upgrading_clears_the_projections_so_the_next_recalc_rebuilds_them(empty_database_url: str) -> None:
    engine = open_engine(empty_database_url)
    with engine.begin() as conn:
        migrate(conn, "0003")
        # The tables as they were at 0003, where projections named the ledger.
        conn.execute(text("INSERT INTO daily_scores (ledger, user_id, day, points) VALUES ('a', 7, '2024-01-05', 4)"))
        conn.execute(insert(projection_state), [{"ledger": "a", "through_seq": 0, "updated_at": datetime(2024, 1, 6)}])
    schema.upgrade(engine)
    with engine.connect() as conn:
        left = [
            conn.execute(select(func.count()).select_from(table)).scalar_one() for table in (daily_scores, period_totals, projection_state)
        ]
    engine.dispose()
    assert left == [0, 0, 0]


def lock_waiters(book: Ledger) -> int:
    with book.engine.connect() as conn:
        # This database's waiters only: pg_locks lists the whole server's.
        return conn.execute(
            text(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE NOT l.granted AND a.datname = current_database()"
            )
        ).scalar_one()


@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.parametrize("read", ["month", "days", "all", "scores"])
def test_a_read_during_a_rebuild_waits_for_the_new_rows(book: Ledger, read: str) -> None:
    # A full rebuild empties the projections with TRUNCATE; a reader that took its snapshot
    # before the rebuild committed would find no rows at all.
    book.set_schedule(date(2024, 1, 1), {"likes_received": Rule(value=1)}, retroactive=True)
    book.record_actions(likes(1, 3, date(2024, 2, 10)))
    book.recalc(full=True)
    reads = {
        "month": lambda: book.leaderboard(period=Period.month, at=date(2024, 2, 1)),
        "days": lambda: book.leaderboard(from_day=date(2024, 2, 9), to_day=date(2024, 2, 11)),
        "all": lambda: book.leaderboard(),
        "scores": lambda: book.scores(),
    }
    answers: list = []
    number = ledger_numbers.ensure(book.engine, book.name)
    with write_transaction(book.engine, PROJECTION_LOCK_KEY) as conn:
        prepare_scratch(conn, book.name)
        rebuild_projections(conn, book.name, number)
        reader = threading.Thread(target=lambda: answers.append(reads[read]()))
        reader.start()
        deadline = time.monotonic() + 30
        while lock_waiters(book) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert lock_waiters(book) == 1  # the reader is queued behind the rebuild
    reader.join(30)
    assert [(s.user_id, s.points) for s in answers[0]] == [(1, 3)]
