"""A full rebuild empties the projections, sets their key aside and rebuilds it: it must leave
other ledgers' rows, the table's indexes and an upgrade's cleared projections as they should be."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, select

from ledger import Action, Ledger, Rule, rebuild, replay
from ledger.store import ledger_numbers
from ledger.store.tables import period_totals


def likes(prefix: str, users: range, days: int, start: date = date(2024, 3, 1)) -> list[Action]:
    return [
        Action(
            source_key=f"{prefix}-{user}-{day}",
            user_id=user,
            action="likes_received",
            occurred_at=datetime.combine(start + timedelta(days=day), datetime.min.time()) + timedelta(hours=user % 24),
        )
        for user in users
        for day in range(days)
    ]


def ledger_with_likes(book: Ledger, name: str, value: int, users: range) -> Ledger:
    ledger = Ledger(book.engine, name)
    ledger.set_schedule(date(2024, 1, 1), {"likes_received": Rule(value=value)}, retroactive=True)
    ledger.record_actions(likes(name, users, days=5))
    return ledger


def index_shapes(engine: Engine, table: str) -> tuple:
    inspector = inspect(engine)
    key = inspector.get_pk_constraint(table)
    indexes = sorted((index["name"], tuple(index["column_names"])) for index in inspector.get_indexes(table))
    return key["name"], tuple(key["constrained_columns"]), indexes


def test_a_full_rebuild_of_one_ledger_leaves_the_others_alone(book: Ledger) -> None:
    first = ledger_with_likes(book, "first", value=2, users=range(1, 6))
    second = ledger_with_likes(book, "second", value=3, users=range(3, 9))
    first.recalc()
    second.recalc()
    first_daily = first.daily_points()
    assert len(first_daily) == 5 * 5 and {points for _, _, points in first_daily} == {2}

    second.record_actions(likes("second-more", range(1, 3), days=2))
    second.recalc(full=True)

    assert first.daily_points() == first_daily
    assert {s.user_id: s.points for s in first.scores()} == dict.fromkeys(range(1, 6), 10)
    assert {s.user_id: s.points for s in second.scores()} == {1: 6, 2: 6, **dict.fromkeys(range(3, 9), 15)}


def test_a_full_rebuild_puts_the_projection_keys_back(book: Ledger) -> None:
    before = {table: index_shapes(book.engine, table) for table in ("daily_scores", "user_totals")}
    assert before["daily_scores"][:2] == ("pk_daily_scores", ("ledger_id", "day", "user_id"))
    ledger_with_likes(book, "default", value=1, users=range(1, 4))
    book.recalc(full=True)
    book.recalc(full=True)
    assert {table: index_shapes(book.engine, table) for table in ("daily_scores", "user_totals")} == before


def test_the_sole_ledger_rebuilds_from_empty_projections_each_time(book: Ledger) -> None:
    ledger_with_likes(book, "default", value=4, users=range(1, 4))
    book.recalc(full=True)
    book.set_schedule(date(2024, 3, 3), {"likes_received": Rule(value=1)}, retroactive=True)
    book.recalc(full=True)
    # Days 1-2 at 4 points, days 3-5 at 1 point, for each of three users: no row kept from before.
    assert {s.user_id: s.points for s in book.scores()} == dict.fromkeys(range(1, 4), 2 * 4 + 3 * 1)
    assert len(book.daily_points()) == 3 * 5


def test_parts_priced_in_sessions_of_their_own_add_up_to_one_pricing(book: Ledger, backend: str, monkeypatch) -> None:
    """Daily rows, period totals and user totals of a rebuild in parts equal those of one
    pricing; the parts are cut at quarter starts, as their sessions total their own quarters
    and their pieces of years."""
    book.set_schedule(date(2024, 1, 1), {"likes_received": Rule(value=2), "posts_read": Rule(value=3, per=2)}, retroactive=True)
    book.set_schedule(date(2024, 3, 4), {"likes_received": Rule(value=5)}, retroactive=True)
    reads = [
        Action(
            source_key=f"read-{user}-{n}",
            user_id=user,
            action="posts_read",
            occurred_at=datetime(2024, 3, 1 + n % 6, n % 24),
            quantity=n % 4,
        )
        for user in range(1, 6)
        for n in range(30)
    ]
    # Two years of likes, so that the parts' cuts fall in different quarters, and a year lies
    # within one part (two parts) or is cut (three).
    book.record_actions(likes("likes", range(1, 9), days=731, start=date(2024, 1, 1)) + reads)
    book.recalc(full=True)
    in_one_part = (book.daily_points(), period_rows(book), book.scores())
    with book.engine.begin() as conn:
        if backend == "postgresql":
            conn.exec_driver_sql("ANALYZE actions")  # the split follows the planner's histogram

    for parts in (2, 3):
        monkeypatch.setattr(rebuild, "PARTS", parts)
        monkeypatch.setattr(rebuild, "PARALLEL_MIN_ACTIONS", 0)
        with book.engine.begin() as conn:
            ranges = rebuild.day_ranges(conn, ledger_numbers.number_of(conn, "default"))
        assert len(ranges) == (1 if backend == "sqlite" else parts)
        assert all(start.day == 1 and start.month in (1, 4, 7, 10) for start, _ in ranges[1:])
        book.recalc(full=True)
        assert (book.daily_points(), period_rows(book), book.scores()) == in_one_part
    with book.engine.connect() as conn:
        for scratch in ("replay_rebuilt", "replay_rebuilt_periods", "replay_rebuilt_year_pieces"):
            assert not inspect(conn).has_table(scratch), f"{scratch} outlives the rebuild"


def period_rows(book: Ledger) -> Sequence[Any]:
    with book.engine.connect() as conn:
        return conn.execute(select(period_totals).order_by(*period_totals.primary_key.columns)).all()


class PartFailed(Exception):
    pass


@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.parametrize("failing_step", ["pricing", "periods"])
def test_a_part_that_fails_fails_the_rebuild_and_leaves_the_projections(book: Ledger, monkeypatch, failing_step: str) -> None:
    """A session pricing a part apart may fail before its rows are committed (the rebuilding
    transaction waits for them) or after (it is totalling their periods): either way the
    rebuild raises instead of waiting forever, and the projections are those of before."""
    book.set_schedule(date(2024, 1, 1), {"likes_received": Rule(value=2)}, retroactive=True)
    book.record_actions(likes("likes", range(1, 5), days=200, start=date(2024, 1, 1)))
    book.recalc(full=True)
    before = (book.daily_points(), period_rows(book), book.scores())
    assert before[0]

    monkeypatch.setattr(rebuild, "PARALLEL_MIN_ACTIONS", 0)
    with book.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE actions")  # an unanalyzed table is taken to be small
    price_part, total_part = rebuild._price_part, rebuild.rollups.total_part

    def failing_price_part(conn, ledger, ledger_id, part, *args, **kwargs):
        if failing_step == "pricing" and part is not None:
            raise PartFailed(f"part {part} could not be priced")
        return price_part(conn, ledger, ledger_id, part, *args, **kwargs)

    def failing_total_part(conn, ledger_id, part, days):
        if failing_step == "periods" and part is not None:
            raise PartFailed(f"part {part} could not be totalled")
        return total_part(conn, ledger_id, part, days)

    monkeypatch.setattr(rebuild, "_price_part", failing_price_part)
    monkeypatch.setattr(rebuild.rollups, "total_part", failing_total_part)
    book.set_schedule(date(2024, 5, 1), {"likes_received": Rule(value=7)}, retroactive=True)
    with pytest.raises(PartFailed, match="could not be"):
        book.recalc(full=True)

    # The failure came from a session pricing a part apart (only those fail): read straight from the projections: the ledger is behind now, so scores() would catch up.
    assert (projected_daily_points(book), period_rows(book)) == before[:2]


def projected_daily_points(book: Ledger) -> list[tuple[int, date, int]]:
    return replay.projected_daily_points(book.engine, book.name)
