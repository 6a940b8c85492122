"""Canonical bytes: one spelling per event, and never one spelling for two events."""

from __future__ import annotations

import re
from datetime import date, datetime

from hypothesis import given
from hypothesis import strategies as st

from ledger.store.canonical import event_bytes

ESCAPES = {"t": "\t", "n": "\n", "\\": "\\"}


def read_back(data: bytes) -> list[str]:
    """Split canonical bytes into the kind and its text fields, undoing the escapes."""
    text = data.decode()
    assert text.endswith("\n") and "\n" not in text[:-1]
    return [re.sub(r"\\(.)", lambda match: ESCAPES[match.group(1)], field) for field in text[:-1].split("\t")]


@given(st.lists(st.text(), max_size=8))
def test_text_fields_read_back_exactly(fields: list[str]) -> None:
    # One line, tab-separated, and every field recoverable: so two different lists of
    # fields can never spell the same bytes.
    assert read_back(event_bytes("kind", *fields)) == ["kind", *fields]


def test_spelling_of_other_types() -> None:
    fields = [None, True, False, 42, -7, datetime(2024, 5, 1, 12, 0), date(2024, 5, 1), "\\N"]
    assert event_bytes("kind", *fields) == (b"kind\t\\N\tt\tf\t42\t-7\t2024-05-01 12:00:00.000000\t2024-05-01\t\\\\N\n")
