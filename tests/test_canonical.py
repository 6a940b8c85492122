"""Canonical bytes: one spelling per event, and never one spelling for two events."""

from __future__ import annotations

from datetime import date, datetime

from hypothesis import given
from hypothesis import strategies as st

from ledger.store.canonical import event_bytes

FIELD = st.none() | st.booleans() | st.integers() | st.text() | st.datetimes() | st.dates()


def reference_spelling(value: object) -> str:
    """The spelling as specified: NULL as \\N, booleans t/f, times to the microsecond,
    text with backslash, tab and newline escaped."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


@given(st.lists(FIELD, max_size=8))
def test_spelling_is_as_specified(fields: list[object]) -> None:
    expected = "\t".join(["kind", *(reference_spelling(value) for value in fields)]) + "\n"
    assert event_bytes("kind", *fields) == expected.encode()


@given(st.lists(st.text(), min_size=1, max_size=5), st.lists(st.text(), min_size=1, max_size=5))
def test_different_text_fields_never_spell_the_same(left: list[str], right: list[str]) -> None:
    if left != right and len(left) == len(right):
        assert event_bytes("kind", *left) != event_bytes("kind", *right)
