"""Corrections against the reference model (tests/reference_model.py), on every backend.

Random sequences of ingests, retractions, reinstatements, amendments, adjustments, merges,
schedule versions and recalculations: the projections, incremental or rebuilt, the scores
computed on the fly and the audit all agree with the model's `corrected_daily_points`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ledger import Action, Ledger, LevelCurve, ScheduleVersion
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
# Versions with a scoring period: off, or starting on a day in or around the actions' days.
period_versions = st.builds(
    lambda version, enabled, start: version.model_copy(update={"enabled": enabled, "start_date": start}),
    versions,
    st.booleans(),
    st.none() | st.integers(-1, DAYS + 1).map(lambda offset: FIRST + timedelta(days=offset)),
)
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
        st.tuples(st.just("schedule"), period_versions),
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
        # Per source key, the seq of the last schedule version recorded before the action.
        self.versions_before: dict[str, int] = {}

    def daily(self, ledger: Ledger) -> dict:
        return reference_model.corrected_daily_points(
            self.actions.values(), self.corrections, self.adjustments, self.merges, ledger.schedule_history(), self.versions_before
        )


# Users as the ledger is told them in the keyed variant: integer, UUID, 40-digit, text and
# zero-padded keys (ledger/user_keys.py); the model keeps the integers.
USER_KEYS: dict[int, int | str] = {
    1: 1,
    2: "6f1c2d9e-0b7a-4a53-9c1e-3f6f0d2b8a11",
    3: "1234567890123456789012345678901234567890",
    4: "alice",
    5: "007",
}


def _same(user: int) -> int | str:
    return user


def _apply(ledger: Ledger, model: Model, index: int, step: tuple, key=_same) -> None:
    kind = step[0]
    keys = sorted(model.actions)
    if kind == "ingest" and step[1]:
        batch = [event.model_copy(update={"source_key": f"s{index}-{event.source_key}"}) for event in step[1]]
        last_version = max((version.seq for version in ledger.schedule_history()), default=0)
        ledger.record_actions([event.model_copy(update={"user_id": key(event.user_id)}) for event in batch])
        model.actions.update((event.source_key, event) for event in batch)
        model.versions_before.update((event.source_key, last_version) for event in batch)
    elif kind in ("retract", "reinstate", "amend") and keys:
        key = keys[step[1] % len(keys)]
        at = _moment(step[2], index)
        if kind == "retract":
            correction: Retraction | Reinstatement | Amendment = Retraction(source_key=key, at=at)
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
            model.corrections.append(
                (
                    {"retract": "retraction", "reinstate": "reinstatement", "amend": "amendment"}[kind],
                    key,
                    at.date(),
                    quantity,
                    step[4] if kind == "amend" else None,
                )
            )
    elif kind == "adjust":
        _, user, offset, points, adjustment_kind = step
        day = FIRST + timedelta(days=offset)
        ledger.record_adjustments(
            [Adjustment(key=f"j{index}", user_id=key(user), points=points, on=day, reason="test", kind=adjustment_kind)]
        )
        model.adjustments.append((user, day, points, adjustment_kind))
    elif kind == "merge":
        try:
            written = ledger.merge_users(key(step[1]), key(step[2]), at=_moment(DAYS, index))
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


curves = st.one_of(
    st.builds(LevelCurve, coefficient=st.integers(1, 30), never_level_down=st.booleans()),
    st.builds(
        LevelCurve,
        kind=st.just("thresholds"),
        thresholds=st.lists(st.integers(1, 60), min_size=0, max_size=4, unique=True).map(lambda starts: [0, *sorted(starts)]),
        never_level_down=st.booleans(),
    ),
)


def reference_levels(daily: dict, curve: LevelCurve) -> dict[int, tuple[int, int]]:
    """(score, level) per user, walking each user's days as the definition says: at the end of
    a day below the start of the highest level reached, a never-level-down score is held there."""
    scores = {}
    for user in {user for user, _day in daily}:
        total = highest = 0
        for day in sorted(day for who, day in daily if who == user):
            total += daily[(user, day)]
            if curve.never_level_down and total < curve.threshold(highest or 1):
                total = curve.threshold(highest or 1)
            level = max(level for level in range(1, 200) if curve.threshold(level) <= max(total, 0)) if total > 0 else 1
            highest = max(highest, level)
        scores[user] = (total, curve.level_for(total))
    return scores


@PROPERTY_SETTINGS
@given(plan=steps, curve=curves)
def test_levels_agree_with_reference_model(book: Ledger, plan: list[tuple], curve: LevelCurve) -> None:
    ledger = fresh_ledger(book)
    model = Model()
    for index, step in enumerate(plan):
        _apply(ledger, model, index, step)
    # A curve in force from after every booking day, so that it prices nothing itself.
    ledger.record_schedule([ScheduleVersion(effective_from=FIRST + timedelta(days=DAYS + 5), levels=curve)], retroactive=True)
    ledger.recalc()
    expected = reference_levels(model.daily(ledger), curve)
    assert {row.user_id: (row.points, row.level) for row in ledger.scores()} == expected
    assert {row.user_id: (row.points, row.level) for row in ledger.scores(as_known_at=datetime(9999, 1, 1))} == expected
    for user, (points, _level) in expected.items():
        lines = ledger.audit(user)
        assert lines[-1].kind == "level" and lines[-1].running_total == points


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


@PROPERTY_SETTINGS
@given(plan=steps)
def test_text_user_keys_agree_with_reference_model(book: Ledger, plan: list[tuple]) -> None:
    """The same sequences with users named by keys of every form: the same points, by key."""
    ledger = fresh_ledger(book)
    model = Model()
    for index, step in enumerate(plan):
        _apply(ledger, model, index, step, key=USER_KEYS.__getitem__)
    ledger.recalc()
    totals = {USER_KEYS[user]: points for user, points in reference_model.user_points(model.daily(ledger)).items()}
    assert {s.user_id: s.points for s in ledger.scores()} == totals
    assert {s.user_id: s.points for s in ledger.scores(as_known_at=datetime(9999, 1, 1))} == totals
    for user, points in totals.items():
        lines = ledger.audit(user)
        assert (lines[-1].running_total if lines else 0) == points
