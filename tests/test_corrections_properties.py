"""Corrections against the reference model (tests/reference_model.py), on every backend.

Random sequences of ingests, retractions, reinstatements, amendments, adjustments, merges,
schedule versions and recalculations: the projections, incremental or rebuilt, the scores
computed on the fly and the audit all agree with the model's `corrected_daily_points`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ledger import Action, Ledger
from ledger.domain import Adjustment, Amendment, Reinstatement, Retraction
from ledger.errors import InvalidInput
from tests import reference_model
from tests.test_replay_properties import (
    DAYS,
    FIRST,
    PROPERTY_SETTINGS,
    action_lists,
    attributes,
    fresh_ledger,
    projected_daily,
    versions,
)

USERS = st.integers(1, 5)
BOOKING_DAYS = st.integers(0, DAYS + 3)

steps = st.lists(
    st.one_of(
        st.tuples(st.just("ingest"), action_lists(max_size=8)),
        st.tuples(st.just("retract"), st.integers(0, 40), BOOKING_DAYS),
        st.tuples(st.just("reinstate"), st.integers(0, 40), BOOKING_DAYS),
        st.tuples(st.just("amend"), st.integers(0, 40), BOOKING_DAYS, st.integers(0, 6), attributes),
        st.tuples(st.just("adjust"), USERS, BOOKING_DAYS, st.integers(-20, 20), st.sampled_from(["manual", "imported", "compensation"])),
        st.tuples(st.just("merge"), USERS, USERS),
        st.tuples(st.just("schedule"), versions),
        st.tuples(st.just("recalc"), st.booleans()),
    ),
    min_size=1,
    max_size=14,
)


def _moment(offset: int, index: int) -> datetime:
    return datetime.combine(FIRST + timedelta(days=offset), time(12)) + timedelta(seconds=index)


class Model:
    """What the test recorded, in the reference model's terms."""

    def __init__(self) -> None:
        self.actions: dict[str, Action] = {}
        self.corrections: list[tuple[str, str, date, int | None, dict | None]] = []
        self.adjustments: list[tuple[int, date, int, str]] = []
        self.merges: dict[int, int] = {}

    def daily(self, ledger: Ledger) -> dict:
        return reference_model.corrected_daily_points(
            self.actions.values(), self.corrections, self.adjustments, self.merges, ledger.schedule_history()
        )


def _apply(ledger: Ledger, model: Model, index: int, step: tuple) -> None:
    kind = step[0]
    keys = sorted(model.actions)
    if kind == "ingest" and step[1]:
        batch = [event.model_copy(update={"source_key": f"s{index}-{event.source_key}"}) for event in step[1]]
        ledger.record_actions(batch)
        model.actions.update((event.source_key, event) for event in batch)
    elif kind in ("retract", "reinstate", "amend") and keys:
        key = keys[step[1] % len(keys)]
        at = _moment(step[2], index)
        if kind == "retract":
            correction = Retraction(source_key=key, at=at)
        elif kind == "reinstate":
            correction = Reinstatement(source_key=key, at=at)
        else:
            correction = Amendment(source_key=key, at=at, quantity=step[3], attributes=step[4])
        try:
            written = ledger.record_corrections([correction])
        except InvalidInput:
            return
        if written.new:
            quantity = step[3] if kind == "amend" else None
            model.corrections.append(({"retract": "retraction", "reinstate": "reinstatement", "amend": "amendment"}[kind],
                                      key, at.date(), quantity, step[4] if kind == "amend" else None))
    elif kind == "adjust":
        _, user, offset, points, adjustment_kind = step
        day = FIRST + timedelta(days=offset)
        ledger.record_adjustments([Adjustment(key=f"j{index}", user_id=user, points=points, on=day, reason="test", kind=adjustment_kind)])
        model.adjustments.append((user, day, points, adjustment_kind))
    elif kind == "merge":
        try:
            written = ledger.merge_users(step[1], step[2], at=_moment(DAYS, index))
        except (InvalidInput, ValueError):
            return
        if written.new:
            model.merges[step[1]] = step[2]
    elif kind == "schedule":
        ledger.record_schedule([step[1]], retroactive=True)
    elif kind == "recalc":
        ledger.recalc(full=step[1])


def assert_agrees(ledger: Ledger, model: Model) -> None:
    expected = model.daily(ledger)
    assert projected_daily(ledger) == expected
    totals = reference_model.user_points(expected)
    assert {s.user_id: s.points for s in ledger.scores()} == totals
    assert {s.user_id: s.points for s in ledger.scores(as_known_at=datetime(9999, 1, 1))} == totals
    for user, points in totals.items():
        lines = ledger.audit(user)
        assert (lines[-1].running_total if lines else 0) == points


@PROPERTY_SETTINGS
@given(plan=steps)
def test_corrections_agree_with_reference_model(book: Ledger, plan: list[tuple]) -> None:
    ledger = fresh_ledger(book)
    model = Model()
    for index, step in enumerate(plan):
        _apply(ledger, model, index, step)
    ledger.recalc()
    incremental = projected_daily(ledger)
    assert_agrees(ledger, model)
    ledger.recalc(full=True)
    assert projected_daily(ledger) == incremental
    assert_agrees(ledger, model)
