"""`by` matches an attribute's value by one canonical text on both backends (issue 23): text
as it is, true / false, and every other value as its stored JSON spells it (the spelling
ledger.domain.canonical_json gives), so 1e+20, 0.30000000000000004, -0.0 and integers beyond
64 bits match their own spelling; and an attribute is found by its exact name, a backslash,
tab or newline included. Scores and the audit agree with an independent reading."""

from __future__ import annotations

import itertools
from datetime import date, datetime

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ledger import Action, Ledger, Rule, ScheduleVersion
from ledger.domain import canonical_json

DAY = date(2024, 3, 1)
_ledger_names = itertools.count()

values = st.one_of(
    st.integers(-(2**80), 2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=8),
    st.booleans(),
    st.none(),
)
names = st.text(st.characters(exclude_categories=["Cs"], exclude_characters='\x00"'), min_size=1, max_size=12)


def expected_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else canonical_json(value)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=names, found=st.lists(values, min_size=1, max_size=6), priced=st.lists(st.integers(-50, 50), min_size=6, max_size=6))
@example(name="a\\b\n\tc", found=[1e20, 0.30000000000000004, -0.0, 2**70, 1e-07, "1e+20"], priced=[1, 2, 3, 4, 5, 6])
def test_by_matches_one_canonical_text_on_both_backends(book: Ledger, name: str, found: list[object], priced: list[int]) -> None:
    ledger = Ledger(book.engine, f"by{next(_ledger_names)}")
    # Every other value's text is in the table (the rest must earn nothing), beside decoys.
    texts = [expected_text(value) for value in found]
    table = {text: points for index, (text, points) in enumerate(zip(texts, priced, strict=False)) if text is not None and index % 2 == 0}
    table.update({"decoy": 99, "1.0": 98})
    ledger.record_schedule([ScheduleVersion(effective_from=DAY, rules={"rated": Rule(by={name: table})})], retroactive=True)
    ledger.record_actions([
        Action(source_key=f"k{user}", user_id=user, action="rated", occurred_at=datetime(2024, 3, 2),
               attributes={name: value, name + "x": "decoy"})
        for user, value in enumerate(found, start=1)
    ])  # fmt: skip
    expected = {user: table.get(text, 0) if text is not None else 0 for user, text in enumerate(texts, start=1)}
    scores = {row.user_id: row.points for row in ledger.scores()}
    assert {user: scores.get(user, 0) for user in expected} == expected
    for user, points in expected.items():
        assert sum(line.points for line in ledger.audit(user)) == points
