"""Where a full rebuild in parts cuts the days: from the planner's statistics of actions.day,
the quarter start that splits the actions most evenly, common (late) days included."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ledger import Action, Ledger, Rule, rebuild
from ledger.day_shares import DayShares
from ledger.store import ledger_numbers

FIRST = date(2023, 1, 1)


def test_shares_count_common_days_and_spread_the_histogram_over_its_buckets() -> None:
    shares = DayShares(common={date(2024, 12, 1): 0.3}, bounds=[date(2024, 1, 1), date(2024, 7, 1), date(2024, 12, 31)])
    assert shares.before(date(2024, 1, 1)) == 0.0
    # Half the histogram (0.7 of the rows) lies before its middle bound; no common day does.
    assert shares.before(date(2024, 7, 1)) == 0.7 * 0.5
    assert shares.before(date(2024, 12, 2)) == 0.3 + 0.7 * (1 + 154 / 183) / 2
    assert shares.before(date(2025, 1, 1)) == 1.0
    assert shares.first_and_last() == (date(2024, 1, 1), date(2024, 12, 31))


@given(
    common=st.dictionaries(st.dates(date(2020, 1, 1), date(2026, 1, 1)), st.floats(0.001, 0.01), max_size=40),
    bounds=st.lists(st.dates(date(2020, 1, 1), date(2026, 1, 1)), max_size=50).map(sorted),
    days=st.lists(st.dates(date(2019, 1, 1), date(2027, 1, 1)), min_size=2, max_size=2).map(sorted),
)
def test_the_share_before_a_day_never_falls_as_the_day_moves_on(common: dict, bounds: list, days: list) -> None:
    shares = DayShares(common, bounds)
    earlier, later = (shares.before(day) for day in days)
    assert 0.0 <= earlier <= later <= 1.0 + 1e-9


def test_a_growing_community_is_cut_where_its_actions_split_evenly(book: Ledger, backend: str, monkeypatch) -> None:
    """Activity grows twenty-fold over two years, so the latest days are the planner's most
    common values and the histogram holds only the rest: a cut by the histogram alone would
    fall a quarter early."""
    book.set_schedule(FIRST, {"likes_received": Rule(value=1)}, retroactive=True)
    per_day = [1 + day // 40 for day in range(730)]
    book.record_actions([
        Action(source_key=f"like-{day}-{n}", user_id=1 + n % 50, action="likes_received",
               occurred_at=datetime.combine(FIRST + timedelta(days=day), datetime.min.time()))
        for day, count in enumerate(per_day)
        for n in range(count)
    ])  # fmt: skip
    monkeypatch.setattr(rebuild, "PARTS", 2)
    monkeypatch.setattr(rebuild, "PARALLEL_MIN_ACTIONS", 0)
    with book.engine.begin() as conn:
        if backend == "postgresql":
            conn.exec_driver_sql("ANALYZE actions")
        ranges = rebuild.day_ranges(conn, ledger_numbers.number_of(conn, "default"))
    if backend == "sqlite":
        assert len(ranges) == 1
        return

    def share_before(cut: date) -> float:
        return sum(per_day[: (cut - FIRST).days]) / sum(per_day)

    quarter_starts = [date(year, month, 1) for year in (2023, 2024) for month in (1, 4, 7, 10)][1:]
    best = min(quarter_starts, key=lambda start: abs(share_before(start) - 0.5))
    assert best == date(2024, 7, 1)  # 57% of the actions before it; 40% before 2024-04-01
    assert [start for start, _ in ranges] == [rebuild.FIRST_DAY, best]
