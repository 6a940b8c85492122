"""The audit against the reference model (tests/reference_model.py), on every backend.

Line by line, not only the final total: which events a line holds (one event, or a `per`
rule's bucket of a user's day), their quantity, the version that priced them, the line's
points and the running total, for any window of days. Events crowd a few days and hours, so
buckets of several events and ties on occurred_at (broken by recording order) are common.
Also: on PostgreSQL the audit's plan is prepared once per connection; the garbage collector
is paused while lines are built and given back as it was.
"""

from __future__ import annotations

import gc
import itertools
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy import text as sql_text

from ledger import Action, Ledger, Rule, ScheduleVersion
from ledger.audit import Schedule, audit_statement
from ledger.collector import collector_paused
from ledger.domain import RecordedScheduleVersion
from tests import reference_model

FIRST = date(2024, 1, 1)
DAYS = 3
ACTION_TYPES = ["likes_received", "posts_read", "rating_received"]
_ledger_names = itertools.count()

attribute_values = st.one_of(st.integers(1, 3), st.sampled_from(["1", "2", "x"]), st.booleans())
rules = st.one_of(
    st.builds(Rule, value=st.integers(-3, 10), min_quantity=st.none() | st.integers(0, 3)),
    st.builds(Rule, value=st.integers(1, 10), per=st.integers(1, 4), min_quantity=st.none() | st.integers(0, 3)),
    st.builds(
        Rule,
        by=st.fixed_dictionaries({"rating": st.dictionaries(st.sampled_from(["1", "2", "true", "x"]), st.integers(0, 50), max_size=3)}),
        min_quantity=st.none() | st.integers(0, 2),
    ),
)
versions = st.builds(
    ScheduleVersion,
    # Some days precede every version; some versions share a date (the later recorded wins).
    effective_from=st.integers(-1, DAYS).map(lambda offset: FIRST + timedelta(days=offset)),
    rules=st.dictionaries(st.sampled_from(ACTION_TYPES), rules, min_size=1, max_size=3),
    reason=st.sampled_from([None, "change", "other"]),
    # Scoring periods: versions recorded before the events gate them, those after do not.
    enabled=st.sampled_from([True, True, False]),
    start_date=st.none() | st.integers(-1, DAYS).map(lambda offset: FIRST + timedelta(days=offset)),
)


@st.composite
def action_lists(draw) -> list[Action]:
    return [
        Action(
            source_key=f"a{i}",
            user_id=draw(st.integers(1, 2)),
            action=draw(st.sampled_from(ACTION_TYPES + ["unpriced"])),
            occurred_at=datetime.combine(FIRST + timedelta(days=draw(st.integers(0, DAYS - 1))), time(draw(st.integers(0, 2)))),
            quantity=draw(st.integers(0, 4)),
            attributes=draw(st.one_of(st.just({}), st.fixed_dictionaries({"rating": attribute_values}))),
        )
        for i in range(draw(st.integers(0, 30)))
    ]


def expected_lines(
    events: list[Action], user: int, history: list[RecordedScheduleVersion], first: date, last: date, versions_before: int = 2**62
) -> list[tuple]:
    """(source keys, quantity, events, effective_from, reason, points, running total) per line.
    Recording order is the tie-break after occurred_at: one batch numbers its events in order.
    `versions_before`: the seq of the last version recorded before the events (scoring periods)."""
    mine = sorted((a for a in events if a.user_id == user), key=lambda a: (a.occurred_at, events.index(a)))

    def earning(group: list[Action]) -> list[Action]:
        return [a for a in group if reference_model.may_earn(history, a.day, versions_before)]

    lines: list[list] = []
    buckets: dict[tuple[date, str], list] = {}
    for action in mine:
        if not first <= action.day <= last:
            continue
        version = reference_model.version_in_force(history, action.day)
        rule = version.version.rule_for(action.action) if version else None
        key = (action.day, action.action)
        if rule is not None and rule.per is not None and key in buckets:
            bucket = buckets[key]
            bucket[0].append(action.source_key)
            bucket[1] += action.quantity
            bucket[2] += 1
            continue
        group = [a for a in mine if (a.day, a.action) == key] if rule is not None and rule.per is not None else [action]
        line = [
            [action.source_key],
            action.quantity,
            1,
            version.version.effective_from if version else None,
            version.version.reason if version else None,
            reference_model.price_bucket(rule, earning(group)),
        ]
        if rule is not None and rule.per is not None:
            buckets[key] = line
        lines.append(line)
    running = itertools.accumulate(line[5] for line in lines)
    return [
        (tuple(keys), quantity, count, effective_from, reason, points, total)
        for (keys, quantity, count, effective_from, reason, points), total in zip(lines, running, strict=True)
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    events=action_lists(),
    schedule=st.lists(versions, min_size=0, max_size=4),
    later=st.lists(versions, min_size=0, max_size=2),
    window=st.tuples(st.integers(-1, DAYS), st.integers(-1, DAYS)),
)
def test_audit_lines_match_the_reference_model(
    book: Ledger, events: list[Action], schedule: list[ScheduleVersion], later: list[ScheduleVersion], window: tuple[int, int]
) -> None:
    """Audited, then audited again once the `later` versions are recorded: the second audit
    starts from the schedule the first one kept (ledger.audit.Auditor)."""
    ledger = Ledger(book.engine, f"audit{next(_ledger_names)}")
    # One call per version, so versions on the same date are recorded one after another.
    for version in schedule:
        ledger.record_schedule([version], retroactive=True)
    versions_before = max((version.seq for version in ledger.schedule_history()), default=0)
    if events:
        ledger.record_actions(events)
    first, last = (FIRST + timedelta(days=offset) for offset in sorted(window))
    for recorded_since in ([], later):
        for version in recorded_since:
            ledger.record_schedule([version], retroactive=True)
        history = ledger.schedule_history()
        for user in (1, 2):
            lines = ledger.audit(user, from_day=first, to_day=last)
            actual = [
                (tuple(line.source_keys), line.quantity, line.events, line.effective_from, line.reason, line.points, line.running_total)
                for line in lines
            ]
            assert actual == expected_lines(events, user, history, first, last, versions_before)
            assert [line.when for line in lines] == sorted(line.when for line in lines)


@pytest.mark.parametrize("by_rules", [False, True], ids=["plain", "with-by-rules"])
def test_each_day_is_priced_by_the_version_in_force_the_later_recorded_on_a_tie(book: Ledger, by_rules: bool) -> None:
    """Days before the first version earn nothing; a day on or after an effective date is
    priced by the latest one on or before it; of two versions with one date, the one recorded
    later wins, whichever has the higher values. Both forms of the audit statement: without
    `by` rules the version of each day is found from the schedule in Python, with them the
    database gives it."""
    extra = {"rating_received": Rule(by={"rating": {"5": 1}})} if by_rules else {}
    for effective_from, value, reason in [(FIRST, 9, "first"), (FIRST, 4, "tie, recorded later"), (FIRST + timedelta(days=2), 1, "third")]:
        rules = {"likes_received": Rule(value=value), **extra}
        book.record_schedule([ScheduleVersion(effective_from=effective_from, rules=rules, reason=reason)], retroactive=True)
    book.record_actions([
        Action(source_key=f"l{offset}", user_id=1, action="likes_received", occurred_at=datetime.combine(FIRST + timedelta(days=offset), time(12)))
        for offset in (-1, 0, 1, 2, 3)
    ])  # fmt: skip
    lines = book.audit(1)
    assert [(line.day, line.reason, line.points) for line in lines] == [
        (FIRST - timedelta(days=1), None, 0),
        (FIRST, "tie, recorded later", 4),
        (FIRST + timedelta(days=1), "tie, recorded later", 4),
        (FIRST + timedelta(days=2), "third", 1),
        (FIRST + timedelta(days=3), "third", 1),
    ]
    assert lines[0].rule == "no schedule in force"
    assert lines[-1].running_total == 10


def test_an_audit_reads_the_schedule_again_only_once_a_version_is_recorded(database_url: str) -> None:
    """A ledger object keeps the schedule its audits read: later audits read only their lines
    until a version is recorded since, here by another process (another object on the same
    database), with a `by` rule where the kept schedule had none. Then the next audit reads
    the schedule again, even one of days before the new version's, and prices by it."""
    auditor, recorder = Ledger.open(database_url), Ledger.open(database_url)
    statements: list[str] = []
    event.listen(auditor.engine, "before_cursor_execute", lambda conn, cursor, text, *rest: statements.append(text))

    def schedule_reads() -> int:
        """How many `audit_rules` statements ran since the last count."""
        count = sum("FROM schedule_versions v" in text for text in statements)
        statements.clear()
        return count

    try:
        recorder.record_schedule([ScheduleVersion(effective_from=FIRST, rules={"rating_received": Rule(value=2)})], retroactive=True)
        recorder.record_actions([
            Action(source_key=f"r{i}", user_id=1, action="rating_received", occurred_at=datetime.combine(FIRST + timedelta(days=i), time(1)), attributes={"rating": 5})
            for i in range(3)
        ])  # fmt: skip
        assert [line.points for line in auditor.audit(1)] == [2, 2, 2]
        assert schedule_reads() == 1
        assert [line.running_total for line in auditor.audit(1)] == [2, 4, 6]
        assert schedule_reads() == 0

        change = ScheduleVersion(
            effective_from=FIRST + timedelta(days=2), rules={"rating_received": Rule(by={"rating": {"5": 7}})}, reason="by rating"
        )
        recorder.record_schedule([change], retroactive=True)
        assert [line.running_total for line in auditor.audit(1, to_day=FIRST + timedelta(days=1))] == [2, 4]
        assert schedule_reads() == 1
        lines = auditor.audit(1)
        assert [(line.reason, line.points, line.running_total) for line in lines] == [(None, 2, 2), (None, 2, 4), ("by rating", 7, 11)]
        assert schedule_reads() == 0

        recorder.record_schedule(
            [ScheduleVersion(effective_from=FIRST, rules={"rating_received": Rule(value=3)}, reason="again")], retroactive=True
        )
        assert [(line.reason, line.running_total) for line in auditor.audit(1)] == [("again", 3), ("again", 6), ("by rating", 13)]
        assert schedule_reads() == 1
        assert auditor.audit(1)[-1].running_total == 13
        assert schedule_reads() == 0
    finally:
        auditor.close()
        recorder.close()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_audit_plan_is_prepared_once_per_connection(book: Ledger) -> None:
    """PostgreSQL plans the audit once per pooled connection (ledger.store.engine.server_prepared)
    and reuses the plan; afterwards the engine's own setting, no automatic preparation, holds."""
    book.record_schedule([ScheduleVersion(effective_from=FIRST, rules={"posts_read": Rule(value=1, per=2)})], retroactive=True)
    book.record_actions(
        [Action(source_key=f"r{i}", user_id=1, action="posts_read", occurred_at=datetime.combine(FIRST, time(i))) for i in range(5)]
    )
    audits = [book.audit(1) for _ in range(3)]
    assert audits[0] == audits[1] == audits[2] and audits[0][0].points == 2
    with book.engine.connect() as conn:
        prepared = conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars().all()
        assert sum("ORDER BY a.day, a.occurred_at, a.seq" in text for text in prepared) == 1
        driver = conn.connection.driver_connection
        assert driver is not None and driver.prepare_threshold is None
        assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
        assert len(conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars().all()) == len(prepared)


def test_a_version_recorded_between_the_audits_two_reads_prices_its_lines(
    book: Ledger, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit reads the schedule, then the lines. On PostgreSQL each read has a snapshot of
    its own, so lines may name a version recorded in between, here one with a `by` rule where
    the schedule read had none: the audit reads both again in one snapshot and prices the
    lines by that version. On SQLite both reads share one snapshot, which predates it."""
    book.record_schedule([ScheduleVersion(effective_from=FIRST, rules={"rating_received": Rule(value=2)})], retroactive=True)
    book.record_actions([
        Action(source_key=f"r{i}", user_id=1, action="rating_received", occurred_at=datetime.combine(FIRST, time(i)), attributes={"rating": 5})
        for i in range(3)
    ])  # fmt: skip
    change = ScheduleVersion(effective_from=FIRST, rules={"rating_received": Rule(by={"rating": {"5": 7}})}, reason="meanwhile")
    read_schedule = Schedule.__init__
    schedules_read: list[bool] = []

    def record_a_version_after_the_first_read(self: Schedule, rows: list) -> None:
        read_schedule(self, rows)
        if not schedules_read:
            book.record_schedule([change], retroactive=True)
        schedules_read.append(self.has_by_rules)

    monkeypatch.setattr(Schedule, "__init__", record_a_version_after_the_first_read)
    lines = book.audit(1)
    if backend == "postgresql":
        assert schedules_read == [False, True]
        assert [(line.reason, line.points, line.running_total) for line in lines] == [
            ("meanwhile", 7, 7),
            ("meanwhile", 7, 14),
            ("meanwhile", 7, 21),
        ]
    else:
        assert schedules_read == [False]
        assert [(line.reason, line.points, line.running_total) for line in lines] == [(None, 2, 2), (None, 2, 4), (None, 2, 6)]


def test_the_audit_reads_a_users_actions_from_the_index_alone(book: Ledger, backend: str) -> None:
    """ix_actions_user_history carries every column the audit reads of actions (migration
    0008), so neither backend visits the table for them, in either form of the statement. On
    PostgreSQL with the table's pages all visible (as after the VACUUM that ends a bulk load)
    and sequential and bitmap scans ruled out, that is an index-only scan; were a column
    missing it would be an index scan. Without `by` rules the rows come off the index in the
    audit's order (migration 0010): nothing is sorted."""
    book.record_schedule([ScheduleVersion(effective_from=FIRST, rules={"likes_received": Rule(value=2)})], retroactive=True)
    book.record_actions(
        [
            Action(source_key=f"p{i}", user_id=1 + i % 3, action="likes_received", occurred_at=datetime.combine(FIRST, time(i)))
            for i in range(12)
        ]
    )
    assert [line.running_total for line in book.audit(1)] == [2, 4, 6, 8]
    params = {"ledger": "default", "user_id": 1, "from_day": "0001-01-01", "to_day": "9999-12-31"}
    plans = {}
    if backend == "postgresql":
        with book.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE) actions")
        with book.engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            for by_points in (False, True):
                plans[by_points] = "\n".join(
                    conn.execute(sql_text("EXPLAIN " + audit_statement(backend, by_points).text), params).scalars()
                )
        for plan in plans.values():
            assert "Index Only Scan using ix_actions_user_history on actions" in plan
            assert "Index Scan using ix_actions_user_history" not in plan
        assert "Sort" not in plans[False]
    else:
        with book.engine.connect() as conn:
            for by_points in (False, True):
                plans[by_points] = "\n".join(
                    row[-1] for row in conn.execute(sql_text("EXPLAIN QUERY PLAN " + audit_statement(backend, by_points).text), params)
                )
        for plan in plans.values():
            assert "USING COVERING INDEX ix_actions_user_history" in plan
        assert "TEMP B-TREE" not in plans[False]


def test_the_library_leaves_the_collector_alone(book: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process-wide switch is the caller's to flip (issue 22): auditing does not touch it."""
    book.record_schedule([ScheduleVersion(effective_from=FIRST, rules={"likes_received": Rule(value=2)})], retroactive=True)
    book.record_actions([Action(source_key="a", user_id=1, action="likes_received", occurred_at=datetime.combine(FIRST, time(1)))])
    switched: list[str] = []
    monkeypatch.setattr(gc, "disable", lambda: switched.append("disable"))
    monkeypatch.setattr(gc, "freeze", lambda: switched.append("freeze"))
    assert [line.points for line in book.audit(1)] == [2]
    assert switched == []


def test_the_collector_pause_gives_back_the_collector_as_it_found_it() -> None:
    """A caller may pause Python's cyclic collector while lines are built: it is on again
    afterwards, also when building fails, and stays off where the caller had turned it off."""
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), collector_paused():
        1 / 0  # noqa: B018
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
