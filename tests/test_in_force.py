"""The version in force on a day: the latest effective date on or before it, the last
recorded on a tie; `InForce` (bisection) agrees with `in_force_on` (a scan)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ledger.in_force import InForce, in_force_on

START = date(2026, 1, 1)


def test_the_latest_effective_date_wins_and_the_last_recorded_on_a_tie() -> None:
    entries = [(date(2026, 1, 1), 1, "a"), (date(2026, 3, 1), 2, "b"), (date(2026, 3, 1), 5, "c"), (date(2026, 2, 1), 7, "d")]
    assert in_force_on(entries, date(2025, 12, 31)) is None
    assert in_force_on(entries, date(2026, 1, 31)) == "a"
    assert in_force_on(entries, date(2026, 2, 1)) == "d"
    assert in_force_on(entries, date(2026, 3, 1)) == "c"
    assert InForce(entries).on(date(2026, 3, 1)) == "c"


@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 1_000)), max_size=12, unique_by=lambda entry: entry[1]),
    st.integers(-2, 33),
)
def test_bisection_agrees_with_the_scan(offsets_and_seqs: list[tuple[int, int]], day_offset: int) -> None:
    entries = [(START + timedelta(days=offset), seq, seq) for offset, seq in offsets_and_seqs]
    day = START + timedelta(days=day_offset)
    expected = max(
        (
            seq
            for offset, seq in offsets_and_seqs
            if offset <= day_offset and offset == max(o for o, _ in offsets_and_seqs if o <= day_offset)
        ),
        default=None,
    )
    assert in_force_on(entries, day) == expected
    assert InForce(entries).on(day) == expected
