"""A `by` rule names one top-level attribute exactly, on both backends.

SQLite's JSON operators read a plain text operand as a path ("a.b" would be the key b inside
a, and "$x" a syntax error), where PostgreSQL's read it as a key; scoreledger looks the
attribute up as a key on both. A name with a double quote, which a quoted SQLite path cannot
spell, is refused before anything is recorded.
"""

from __future__ import annotations

import io
from datetime import date, datetime, time

import pytest
from pydantic import ValidationError

from ledger import Action, Ledger, Rule, ScheduleVersion
from ledger.errors import InvalidInput
from ledger.importers.schedules import read_schedule

DAY = date(2024, 3, 1)


@pytest.mark.parametrize("name", ["rating", "a.b", "star rating", "$x", "a[0]", "é"])
def test_a_by_rule_reads_the_attribute_of_exactly_its_name(book: Ledger, name: str) -> None:
    """Each event has the named attribute beside a nested decoy ("a" holding "b") and an
    attribute called "x"; only the named one may price it. Scores and audit agree."""
    book.record_schedule([ScheduleVersion(effective_from=DAY, rules={"rated": Rule(by={name: {"5": 7, "9": 100}})})], retroactive=True)
    book.record_actions([
        Action(source_key=f"r{i}", user_id=1, action="rated", occurred_at=datetime.combine(DAY, time(i)), attributes={name: 5, "a": {"b": 9}, "x": 9})
        for i in range(3)
    ])  # fmt: skip
    book.recalc()
    assert [(score.user_id, score.points) for score in book.scores()] == [(1, 21)]
    assert [line.points for line in book.audit(1)] == [7, 7, 7]
    assert book.audit(1)[0].rule == f"by {name}: 7 points each"


def test_a_by_attribute_name_with_a_double_quote_is_refused() -> None:
    with pytest.raises(ValidationError, match="double quote"):
        Rule(by={'say "hi"': {"1": 1}})


def test_a_schedule_file_with_such_a_name_is_refused_as_invalid_input(book: Ledger) -> None:
    document = b'[{"effective_from": "2024-03-01", "rules": {"rated": {"by": {"a\\"b": {"1": 1}}}}}]'
    with pytest.raises(InvalidInput) as refused:
        read_schedule(io.BytesIO(document), "schedule.json")
    assert ["double quote" in problem.reason for problem in refused.value.problems] == [True]
    assert book.schedule_history() == []


def test_a_by_attribute_name_longer_than_a_column_holds_is_refused() -> None:
    with pytest.raises(ValidationError, match="at most 100 characters"):
        Rule(by={"x" * 101: {"1": 1}})
    assert Rule(by={"x" * 100: {"1": 1}}).by_attribute == "x" * 100
