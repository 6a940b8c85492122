"""Replay against the reference model (tests/reference_model.py), on every backend.

Each hypothesis example gets its own ledger name in the test's one database: ledgers are
independent namespaces, and a database per example would be far slower.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import Action, Ledger, Rule, ScheduleVersion
from tests import reference_model

FIRST = date(2024, 1, 1)
DAYS = 8
ACTION_TYPES = ["likes_received", "posts_read", "rating_received"]
_ledger_names = itertools.count()

PROPERTY_SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

attribute_values = st.one_of(st.integers(1, 4), st.sampled_from(["1", "2", "x"]), st.booleans())
attributes: st.SearchStrategy[dict[str, object]] = st.one_of(st.just({}), st.fixed_dictionaries({"rating": attribute_values}))

rules = st.one_of(
    st.builds(Rule, value=st.integers(-3, 10), min_quantity=st.none() | st.integers(0, 3)),
    st.builds(Rule, value=st.integers(1, 10), per=st.integers(1, 4), min_quantity=st.none() | st.integers(0, 3)),
    st.builds(
        Rule,
        by=st.fixed_dictionaries(
            {"rating": st.dictionaries(st.sampled_from(["1", "2", "3", "true", "x"]), st.integers(0, 50), max_size=4)}
        ),
        min_quantity=st.none() | st.integers(0, 2),
    ),
)

versions = st.builds(
    ScheduleVersion,
    # From before the first action to after the last, so some days precede every version.
    effective_from=st.integers(-1, DAYS).map(lambda offset: FIRST + timedelta(days=offset)),
    rules=st.dictionaries(st.sampled_from(ACTION_TYPES), rules, min_size=1, max_size=3),
    reason=st.sampled_from([None, "change"]),
)


@st.composite
def action_lists(draw, prefix: str = "a", max_size: int = 25) -> list[Action]:
    count = draw(st.integers(0, max_size))
    return [
        Action(
            source_key=f"{prefix}{i}",
            user_id=draw(st.integers(1, 4)),
            action=draw(st.sampled_from(ACTION_TYPES + ["unpriced"])),
            occurred_at=datetime.combine(FIRST + timedelta(days=draw(st.integers(0, DAYS - 1))), time(draw(st.integers(0, 23)))),
            # Small quantities, so that events at and around min_quantity are common.
            quantity=draw(st.integers(0, 4)),
            attributes=draw(attributes),
        )
        for i in range(count)
    ]


def fresh_ledger(book: Ledger) -> Ledger:
    return Ledger(book.engine, f"prop{next(_ledger_names)}")


def record_each(book: Ledger, schedule: list[ScheduleVersion]) -> None:
    # One call per version so that versions on the same date are recorded one after another.
    for version in schedule:
        book.record_schedule([version], retroactive=True)


def expected_daily(book: Ledger, recorded: list[Action]) -> dict:
    return reference_model.daily_points(recorded, book.schedule_history())


def projected_daily(book: Ledger) -> dict:
    return {(user, day): points for user, day, points in book.daily_points()}


def assert_matches_reference(book: Ledger, recorded: list[Action]) -> None:
    expected = expected_daily(book, recorded)
    assert projected_daily(book) == expected
    totals = reference_model.user_points(expected)
    assert {s.user_id: s.points for s in book.scores()} == totals
    assert {s.user_id: s.points for s in book.scores(as_known_at=datetime(9999, 1, 1))} == totals


@PROPERTY_SETTINGS
@given(
    events=action_lists(), schedule=st.lists(versions, min_size=1, max_size=4), window=st.tuples(st.integers(0, DAYS), st.integers(0, DAYS))
)
def test_projection_equals_reference_model(
    book: Ledger, events: list[Action], schedule: list[ScheduleVersion], window: tuple[int, int]
) -> None:
    ledger = fresh_ledger(book)
    record_each(ledger, schedule)
    if events:
        ledger.record_actions(events)
    ledger.recalc(full=True)
    assert_matches_reference(ledger, events)
    first, last = (FIRST + timedelta(days=offset) for offset in sorted(window))
    expected = reference_model.user_points(expected_daily(ledger, events), first, last)
    assert {s.user_id: s.points for s in ledger.scores(from_day=first, to_day=last)} == expected
    assert {s.user_id: s.points for s in ledger.scores(from_day=first, to_day=last, as_known_at=datetime(9999, 1, 1))} == expected
    # The audit prices event by event and bucket by bucket (ledger/audit.py `audit_lines`); it
    # must end where the projection does, for every user.
    for user, points in reference_model.user_points(expected_daily(ledger, events)).items():
        lines = ledger.audit(user)
        assert lines[-1].running_total == sum(line.points for line in lines) == points


@PROPERTY_SETTINGS
@given(events=action_lists(), schedule=st.lists(versions, min_size=1, max_size=3), change=versions)
def test_a_schedule_change_never_alters_points_before_its_date(
    book: Ledger, events: list[Action], schedule: list[ScheduleVersion], change: ScheduleVersion
) -> None:
    ledger = fresh_ledger(book)
    record_each(ledger, schedule)
    if events:
        ledger.record_actions(events)
    ledger.recalc()
    before = projected_daily(ledger)
    ledger.record_schedule([change], retroactive=True)
    ledger.recalc()
    after = projected_daily(ledger)
    assert {key: points for key, points in after.items() if key[1] < change.effective_from} == {
        key: points for key, points in before.items() if key[1] < change.effective_from
    }
    assert_matches_reference(ledger, events)


steps = st.lists(
    st.one_of(
        st.tuples(st.just("ingest"), action_lists(max_size=8)),
        st.tuples(st.just("schedule"), versions),
        st.tuples(st.just("recalc"), st.booleans()),
    ),
    max_size=8,
)


@PROPERTY_SETTINGS
@given(plan=steps)
def test_incremental_recalc_equals_full_rebuild(book: Ledger, plan: list[tuple]) -> None:
    ledger = fresh_ledger(book)
    recorded: dict[str, Action] = {}
    for index, (kind, argument) in enumerate(plan):
        if kind == "ingest" and argument:
            # Keys unique to this step, so no step repeats another's source_key.
            batch = [event.model_copy(update={"source_key": f"s{index}-{event.source_key}"}) for event in argument]
            ledger.record_actions(batch)
            recorded.update((event.source_key, event) for event in batch)
        elif kind == "schedule":
            ledger.record_schedule([argument], retroactive=True)
        elif kind == "recalc":
            ledger.recalc(full=argument)
    ledger.recalc()
    incremental = projected_daily(ledger)
    incremental_totals = ledger.scores()
    ledger.recalc(full=True)
    assert projected_daily(ledger) == incremental
    assert ledger.scores() == incremental_totals
    assert_matches_reference(ledger, list(recorded.values()))
