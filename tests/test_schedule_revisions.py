"""Which versions are new: a later version with earlier content wins (a revert), re-running
an import adds nothing, and every export format re-imports to the same history."""

from __future__ import annotations

import io
import itertools
from datetime import date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import Action, Ledger, LevelCurve, Rule, ScheduleVersion
from ledger.domain import today_utc
from ledger.exporters.schedules import FORMATS, export_schedule
from ledger.rule_edits import RuleEdit
from ledger.schedules import in_force
from ledger.store.schedules import key_matches_content, version_key

DAY = date(2024, 3, 1)
_names = itertools.count()


def value_of(book: Ledger, action: str, day: date = DAY) -> int:
    return book.schedule_at(day).version.rules[action].value


def import_document(book: Ledger, document: str, fmt: str, **kwargs):
    return book.import_schedule(io.BytesIO(document.encode()), f"schedule.{fmt}", fmt, retroactive=True, **kwargs)


def test_setting_a_value_back_on_the_same_date_wins(book: Ledger) -> None:
    for value in (1, 2, 1):
        outcome = book.set_schedule(DAY, {"x": Rule(value=value)}, retroactive=True)
        assert len(outcome.recorded) == 1, value
        assert value_of(book, "x") == value
    assert [r.version.rules["x"].value for r in book.schedule_history()] == [1, 2, 1]
    book.verify()  # the repeated content has a key of its own, which verify accepts


def test_the_revert_reprices_what_the_change_priced(book: Ledger) -> None:
    book.record_actions([Action(source_key="a", user_id=7, action="x", occurred_at=datetime(2024, 3, 2))])
    book.set_schedule(DAY, {"x": Rule(value=1)}, retroactive=True)
    book.set_schedule(DAY, {"x": Rule(value=2)}, retroactive=True)
    back = book.set_schedule(DAY, {"x": Rule(value=1)}, retroactive=True)
    assert [(m.user_id, m.before, m.after) for m in back.moved] == [(7, 2, 1)]
    book.recalc()
    assert [(s.user_id, s.points) for s in book.scores()] == [(7, 1)]


def test_the_same_value_again_is_not_a_new_version(book: Ledger) -> None:
    book.set_schedule(DAY, {"x": Rule(value=1)}, retroactive=True)
    again = book.set_schedule(DAY, {"x": RuleEdit({"value": 1})}, retroactive=True)
    assert again.recorded == [] and again.already_present == 1
    assert len(book.schedule_history()) == 1


def test_reimporting_a_document_adds_nothing_even_after_a_later_change(book: Ledger) -> None:
    document = "versions:\n  - effective_from: 2024-03-01\n    rules: {x: 1, y: 5}\n"
    assert len(import_document(book, document, "yaml").recorded) == 1
    book.set_schedule(DAY, {"x": Rule(value=2)}, retroactive=True)
    again = import_document(book, document, "yaml")
    assert again.recorded == [] and again.document_seen and again.already_present == 1
    assert value_of(book, "x") == 2  # the re-run did not undo the later change
    # The same versions in another format are the same document.
    as_json = export_schedule([book.schedule_history()[0].version], "json")
    assert import_document(book, as_json, "json").document_seen


def test_a_document_with_one_more_version_records_only_that_one(book: Ledger) -> None:
    first = "- effective_from: 2024-03-01\n  rules: {x: 1}\n"
    import_document(book, first, "yaml")
    grown = first + "- effective_from: 2024-04-01\n  rules: {x: 3}\n"
    outcome = import_document(book, grown, "yaml")
    assert [v.effective_from for v in outcome.recorded] == [date(2024, 4, 1)]
    assert outcome.already_present == 1 and not outcome.document_seen


def test_a_document_reverting_a_value_records_it(book: Ledger) -> None:
    book.set_schedule(DAY, {"x": Rule(value=1)}, retroactive=True)
    book.set_schedule(DAY, {"x": Rule(value=2)}, retroactive=True)
    outcome = import_document(book, "effective_from: 2024-03-01\nrules: {x: 1}\n", "yaml")
    assert len(outcome.recorded) == 1
    assert value_of(book, "x") == 1


def test_two_versions_of_one_day_survive_a_csv_round_trip(book: Ledger) -> None:
    book.set_schedule(DAY, {"x": Rule(value=1)}, retroactive=True)
    book.set_schedule(DAY, {"y": Rule(value=2, per=10)}, retroactive=True, reason="second")
    original = [r.version for r in book.schedule_history()]
    assert len(original) == 2
    copy = Ledger(book.engine, "copy")
    import_document(copy, export_schedule(original, "csv"), "csv")
    assert [r.version for r in copy.schedule_history()] == original
    assert copy.schedule_at(DAY).version.rules == {"x": Rule(value=1), "y": Rule(value=2, per=10)}


def test_repeated_content_keys_stay_tied_to_their_content() -> None:
    version = ScheduleVersion(effective_from=DAY, rules={"x": Rule(value=1)})
    other = ScheduleVersion(effective_from=DAY, rules={"x": Rule(value=2)})
    assert version_key(version, 0) == version.content_key()
    assert len({version_key(version, n) for n in range(5)}) == 5
    assert all(key_matches_content(version_key(version, n), version) for n in range(5))
    assert not key_matches_content(version_key(version, 3), other)
    assert not key_matches_content(version.content_key()[:56] + "zzzzzzzz", version)


def test_a_version_effective_today_lists_the_users_it_moves(book: Ledger) -> None:
    today = today_utc()
    book.set_schedule(today, {"x": Rule(value=1)})
    book.record_actions([Action(source_key="t", user_id=3, action="x", occurred_at=datetime.combine(today, time(0)))])
    outcome = book.set_schedule(today, {"x": Rule(value=4)})
    assert outcome.affected_actions == 1
    assert [(m.user_id, m.before, m.after) for m in outcome.moved] == [(3, 1, 4)]
    assert outcome.moved_from == today


def test_a_future_version_lists_the_users_its_future_dated_actions_move(book: Ledger) -> None:
    today = today_utc()
    book.set_schedule(today, {"x": Rule(value=1)})
    book.record_actions([Action(source_key="f", user_id=5, action="x", occurred_at=datetime.combine(today + timedelta(days=10), time(0)))])
    outcome = book.set_schedule(today + timedelta(days=5), {"x": Rule(value=3)})
    assert outcome.affected_actions == 1
    assert [(m.user_id, m.before, m.after) for m in outcome.moved] == [(5, 1, 3)]
    assert outcome.moved_from == today + timedelta(days=5)


# -- every export format re-imports to the same history -------------------------------------

texts = st.one_of(st.none(), st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=12))
names = st.sampled_from(["likes_received", "posts_read", "=cmd", "a,b", "rating received", "x\ny"])
rules = st.one_of(
    st.builds(Rule, value=st.integers(-(10**6), 10**6), min_quantity=st.none() | st.integers(0, 10)),
    st.builds(Rule, value=st.integers(0, 9), per=st.integers(1, 500), min_quantity=st.none() | st.integers(0, 10)),
    st.builds(
        lambda attribute, table: Rule(by={attribute: table}),
        st.sampled_from(["rating", "a.b", "'q", "=x"]),
        st.dictionaries(st.sampled_from(["1", "5", "yes", "-0", ""]), st.integers(-5, 50), max_size=3),
    ),
)
versions = st.builds(
    ScheduleVersion,
    # Few dates, so that several versions of one day are common.
    effective_from=st.integers(0, 3).map(lambda offset: DAY + timedelta(days=offset)),
    rules=st.dictionaries(names, rules, max_size=3),
    levels=st.none() | st.builds(LevelCurve, coefficient=st.integers(1, 500)),
    author=texts,
    reason=texts,
    link=texts,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batches=st.lists(st.lists(versions, min_size=1, max_size=4), min_size=1, max_size=3))
def test_every_export_format_reimports_to_the_same_history(book: Ledger, batches: list[list[ScheduleVersion]]) -> None:
    """A history recorded in several batches (reverts included) exports in each format to a
    document that imports into an empty ledger as the same versions in the same order, that
    prices every day the same, and that a second import leaves alone."""
    source = Ledger(book.engine, f"src{next(_names)}")
    for batch in batches:
        source.record_schedule(batch, retroactive=True)
    original = [r.version for r in source.schedule_history()]
    for fmt in FORMATS:
        copy = Ledger(book.engine, f"copy{next(_names)}")
        document = export_schedule(original, fmt)
        import_document(copy, document, fmt)
        assert [r.version for r in copy.schedule_history()] == original, fmt
        copied = copy.schedule_history()
        for offset in range(4):
            day = DAY + timedelta(days=offset)
            expected = in_force(source.schedule_history(), day)
            assert in_force(copied, day) is not None if expected else in_force(copied, day) is None
            found = in_force(copied, day)
            if expected and found:
                assert found.version == expected.version, (fmt, day)
        again = import_document(copy, document, fmt)
        assert again.recorded == [] and again.document_seen, fmt
