"""A platform's recalculation at one set of values, computed from the projections
(ledger/platform.py), against pricing every action of the events again (ledger/replay.py
`points_in` with `current_state`), on every backend: random sequences of ingests,
corrections, adjustments, merges, schedule versions and recalculations."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ledger import Action, Ledger, ScheduleVersion
from ledger.platform import platform_points
from ledger.replay import points_in, pricing_transaction
from tests.test_corrections_properties import Model, _apply, steps
from tests.test_replay_properties import DAYS, FIRST, PROPERTY_SETTINGS, fresh_ledger

DAY_OFFSETS = st.integers(-2, DAYS + 4)


def every_action_priced(ledger: Ledger, values_of: date, from_day: date | None) -> dict:
    with pricing_transaction(ledger.engine) as conn:
        rows = points_in(conn, ledger.name, values_of=values_of, from_day=from_day, current_state=True)
    return {row.user_id: row.points for row in rows if row.points}


def _day(offset: int | None) -> date | None:
    return None if offset is None else FIRST + timedelta(days=offset)


@PROPERTY_SETTINGS
@given(plan=steps, values_of=DAY_OFFSETS, from_offset=st.one_of(st.none(), DAY_OFFSETS))
def test_platform_points_from_the_projections_equal_every_action_priced(
    book: Ledger, plan: list[tuple], values_of: int, from_offset: int | None
) -> None:
    ledger = fresh_ledger(book)
    model = Model()
    for index, step in enumerate(plan):
        _apply(ledger, model, index, step)
    values_day, from_day = FIRST + timedelta(days=values_of), _day(from_offset)
    fast = {row.user_id: row.points for row in ledger.platform_points(values_day, from_day=from_day)}
    assert fast == every_action_priced(ledger, values_day, from_day)


def test_events_arriving_after_every_catch_up_are_priced_from_the_events(book: Ledger) -> None:
    book.record_schedule([ScheduleVersion(effective_from=FIRST, rules={"post": {"value": 5}})], retroactive=True)
    book.record_schedule([ScheduleVersion(effective_from=FIRST + timedelta(days=3), rules={"post": {"value": 2}})], retroactive=True)
    book.record_actions([Action(source_key="a", user_id=1, action="post", occurred_at=f"{FIRST}T10:00")])
    arrived = iter(range(10))

    def behind_again() -> None:
        # Each catch-up is followed by a new action before the snapshot is read.
        book.catch_up()
        book.record_actions([Action(source_key=f"late{next(arrived)}", user_id=2, action="post", occurred_at=f"{FIRST}T11:00")])

    rows = platform_points(book.engine, book.name, values_of=FIRST + timedelta(days=5), catch_up=behind_again)
    assert {row.user_id: row.points for row in rows} == {1: 2, 2: 2 * 3}
    assert {row.user_id: row.points for row in book.platform_points(FIRST + timedelta(days=5))} == {1: 2, 2: 2 * 3}


def test_actions_closed_by_a_scoring_period_earn_nothing_at_either_values(book: Ledger) -> None:
    # Scoring is off when the first posts arrive, so they earn nothing; their rule changes
    # later, which the projections' repricing of changed rules must not turn into points.
    book.record_schedule([ScheduleVersion(effective_from=FIRST, rules={"post": {"value": 5}}, enabled=False)], retroactive=True)
    book.record_actions([Action(source_key=f"closed{n}", user_id=1, action="post", occurred_at=f"{FIRST}T10:00") for n in range(3)])
    book.record_schedule([ScheduleVersion(effective_from=FIRST + timedelta(days=2), rules={"post": {"value": 2}})], retroactive=True)
    book.record_actions([Action(source_key="open", user_id=2, action="post", occurred_at=f"{FIRST + timedelta(days=3)}T10:00")])
    values_day = FIRST + timedelta(days=5)
    fast = {row.user_id: row.points for row in book.platform_points(values_day)}
    assert fast == every_action_priced(book, values_day, None) == {2: 2}
