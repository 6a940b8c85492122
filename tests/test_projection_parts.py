"""PostgreSQL holds daily_scores and period_totals in parts, each one ledger's rows over one
range of days (migration 0022, ledger/store/projection_parts.py): a full rebuild replaces a
ledger's parts whole, leaves other ledgers' parts as they are, and its parts cover every day
so that incremental recalculations find theirs; the migration keeps every row both ways; and
`verify` sees what acts on a part as acting on its table."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import Connection, bindparam, text

from ledger import Action, Ledger, Rule, rebuild
from ledger.errors import JournalBroken
from ledger.store import ledger_numbers, projection_parts
from ledger.store.projection_parts import DAILY, PERIODS, PartedTable
from ledger.store.schema import migrate
from tests.test_full_rebuild import ledger_with_likes, likes

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


def parts(conn: Connection, ledger: str, table: PartedTable = DAILY) -> dict[str, tuple[int, date, date, str]]:
    """Each part of `ledger` in `table`: its rows, first and last day, and partition bounds."""
    number = ledger_numbers.number_of(conn, ledger)
    found = {}
    for name in projection_parts.parts_of(conn, table, number):
        rows, first, last = conn.execute(text(f'SELECT count(*), min({table.dated}), max({table.dated}) FROM "{name}"')).one()
        bounds = conn.execute(text("SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = :n"), {"n": name}).scalar_one()
        found[name] = (rows, first, last, bounds)
    return found


def part_tables(conn: Connection, ledger_id: int) -> list[int]:
    """The tables of ledger number `ledger_id`'s parts, by oid."""
    names = [name for table in (DAILY, PERIODS) for name in projection_parts.parts_of(conn, table, ledger_id)]
    query = text("SELECT oid FROM pg_class WHERE relname IN :names ORDER BY relname").bindparams(bindparam("names", expanding=True))
    return [int(oid) for oid in conn.execute(query, {"names": names}).scalars()]


def in_two_parts(book: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rebuild, "PARALLEL_MIN_ACTIONS", 0)
    monkeypatch.setattr(rebuild, "PARTS", 2)
    with book.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE actions")  # the cut follows the planner's statistics


def test_a_rebuild_in_parts_replaces_the_ledgers_parts_and_leaves_the_others(book: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    other = ledger_with_likes(book, "other", value=3, users=range(1, 4))
    other.recalc()
    book.set_schedule(date(2024, 1, 1), {"likes_received": Rule(value=2)}, retroactive=True)
    book.record_actions(likes("likes", range(1, 5), days=366, start=date(2024, 1, 1)))
    book.recalc()
    with book.engine.connect() as conn:
        assert [bounds for *_, bounds in parts(conn, "default").values()] == ["FOR VALUES FROM (2, MINVALUE) TO (2, MAXVALUE)"]
        others_before = part_tables(conn, 1)
        assert len(others_before) == 4  # the other ledger's daily rows, months, quarters and years

    in_two_parts(book, monkeypatch)
    book.recalc(full=True)

    with book.engine.connect() as conn:
        found = parts(conn, "default")
        assert list(found) == ["daily_scores_2_1", "daily_scores_2_2"]
        (first_rows, first_day, first_last, first_bounds), (second_rows, second_first, last_day, second_bounds) = found.values()
        cut = second_first
        assert cut.day == 1 and cut.month in (4, 7, 10) and cut.year == 2024
        assert first_bounds == f"FOR VALUES FROM (2, MINVALUE) TO (2, '{cut.isoformat()}')"
        assert second_bounds == f"FOR VALUES FROM (2, '{cut.isoformat()}') TO (2, MAXVALUE)"
        assert (first_day, last_day) == (date(2024, 1, 1), date(2024, 12, 31)) and first_last < cut
        assert first_rows + second_rows == 4 * 366
        periods = parts(conn, "default", PERIODS)
        assert list(periods) == [f"period_totals_2_{name}" for name in ("months_1", "months_2", "quarters_1", "quarters_2", "years")]
        assert periods["period_totals_2_months_1"][3] == f"FOR VALUES FROM (2, '1', MINVALUE) TO (2, '1', '{cut.isoformat()}')"
        assert periods["period_totals_2_quarters_2"][3] == f"FOR VALUES FROM (2, '3', '{cut.isoformat()}') TO (2, '3', MAXVALUE)"
        assert periods["period_totals_2_years"][3] == "FOR VALUES FROM (2, '12', MINVALUE) TO (2, '12', MAXVALUE)"
        # Four users, each with every month, quarter and year of 2024.
        months_before, quarters_before = cut.month - 1, (cut.month - 1) // 3
        assert [rows for rows, *_ in periods.values()] == [
            4 * months_before,
            4 * (12 - months_before),
            4 * quarters_before,
            4 * (4 - quarters_before),
            4,
        ]
        # The other ledger's parts are the same tables, untouched; no scratch table is left.
        assert part_tables(conn, 1) == others_before
        left = conn.execute(text("SELECT relname FROM pg_class WHERE relname LIKE 'replay\\_rebuilt%' AND relkind IN ('r', 'p')")).all()
        assert left == []
    assert {s.user_id: s.points for s in other.scores()} == dict.fromkeys(range(1, 4), 15)
    assert {s.user_id: s.points for s in book.scores()} == dict.fromkeys(range(1, 5), 2 * 366)


def test_incremental_recalcs_write_into_the_parts_a_rebuild_left(book: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    book.set_schedule(date(2024, 1, 1), {"likes_received": Rule(value=2)}, retroactive=True)
    book.record_actions(likes("likes", range(1, 5), days=366, start=date(2024, 1, 1)))
    in_two_parts(book, monkeypatch)
    book.recalc(full=True)
    # New actions on both sides of the cut, and one long after the last day priced.
    book.record_actions(
        [
            Action(source_key=f"new-{day}", user_id=9, action="likes_received", occurred_at=datetime(day.year, day.month, day.day, 12))
            for day in (date(2024, 1, 2), date(2024, 11, 30), date(2031, 5, 5))
        ]
    )
    book.recalc()
    incremental = (book.daily_points(), book.scores())
    with book.engine.connect() as conn:
        rows = sum(rows for rows, *_ in parts(conn, "default").values())
    assert rows == 4 * 366 + 3
    book.recalc(full=True)
    assert (book.daily_points(), book.scores()) == incremental


def test_the_migration_keeps_every_ledgers_rows_both_ways(book: Ledger) -> None:
    first = ledger_with_likes(book, "first", value=2, users=range(1, 6))
    second = ledger_with_likes(book, "second", value=3, users=range(3, 9))
    first.recalc()
    second.recalc()
    daily = {ledger.name: ledger.daily_points() for ledger in (first, second)}
    with book.engine.begin() as conn:
        migrate(conn, "0021", down=True)
        assert conn.execute(text("SELECT relkind FROM pg_class WHERE relname = 'daily_scores'")).scalar_one() == "r"
        assert conn.execute(text("SELECT count(*) FROM daily_scores")).scalar_one() == 5 * 5 + 6 * 5
        migrate(conn, "head")
        assert conn.execute(text("SELECT relkind FROM pg_class WHERE relname = 'daily_scores'")).scalar_one() == "p"
        assert {name: rows for name, (rows, *_) in parts(conn, "first").items()} == {"daily_scores_1_all": 25}
        assert {name: rows for name, (rows, *_) in parts(conn, "second").items()} == {"daily_scores_2_all": 30}
        # Five users of the first ledger, six of the second, each with a month, quarter and year.
        assert {name: rows for name, (rows, *_) in parts(conn, "second", PERIODS).items()} == {"period_totals_2_all": 6 * 3}
    assert {ledger.name: ledger.daily_points() for ledger in (first, second)} == daily
    # An incremental recalc of either finds its part.
    second.record_actions(likes("more", range(1, 3), days=2))
    second.recalc()
    assert {s.user_id: s.points for s in second.scores()}[1] == 6


def test_a_trigger_on_a_part_is_reported_as_one_on_daily_scores(book: Ledger) -> None:
    ledger_with_likes(book, "default", value=1, users=range(1, 3))
    book.recalc()
    book.verify()
    with book.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE FUNCTION boost() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.points := NEW.points * 2; RETURN NEW; END $$"
        )
        conn.exec_driver_sql("CREATE TRIGGER boost BEFORE INSERT ON period_totals_1_years FOR EACH ROW EXECUTE FUNCTION boost()")
    with pytest.raises(JournalBroken, match="trigger period_totals.boost is not one the migrations create"):
        book.verify()
