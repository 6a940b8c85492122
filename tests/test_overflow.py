"""No accepted input can overflow 64 bits: point values, quantities and each user's total
quantity are bounded at input, and a ledger at those bounds prices, ranks and audits
exactly on both backends (issue 23)."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from ledger import Ledger, Rule, ScheduleVersion
from ledger.domain import MAX_ADJUSTMENT_POINTS, MAX_INTEGER, MAX_POINT_VALUE, MAX_QUANTITY, MAX_TOTAL_POINTS, Adjustment, Amendment
from ledger.errors import InvalidInput, JournalBroken
from ledger.standings import Period
from tests.factories import action_row, csv_text

# Rows of the largest quantity that fill a ledger priced at the largest point value.
FULL_ROWS = MAX_TOTAL_POINTS // (MAX_QUANTITY * MAX_POINT_VALUE)


def test_the_bound_keeps_every_sum_inside_64_bits() -> None:
    # Room is left for a level's floor (ledger/levels.py), at most MAX_INTEGER.
    assert MAX_TOTAL_POINTS + MAX_INTEGER < 2**63
    assert MAX_TOTAL_POINTS % (MAX_QUANTITY * MAX_POINT_VALUE) == 0
    assert MAX_ADJUSTMENT_POINTS < MAX_TOTAL_POINTS


@pytest.mark.parametrize(
    "rule",
    [
        {"value": MAX_POINT_VALUE + 1},
        {"value": -MAX_POINT_VALUE - 1},
        {"by": {"r": {"5": MAX_POINT_VALUE + 1}}},
        {"by": {"r": {"1": -(10**12)}}},
    ],
)
def test_point_values_beyond_the_bound_are_refused(rule: dict) -> None:
    with pytest.raises(ValidationError):
        Rule(**rule)


def test_a_schedule_document_over_the_bound_is_refused(book: Ledger) -> None:
    document = f"- effective_from: 2024-01-01\n  rules:\n    likes_received: {MAX_POINT_VALUE + 1}\n"
    with pytest.raises(InvalidInput):
        book.import_schedule(io.BytesIO(document.encode()), "schedule.yaml", retroactive=True)


def _file(tmp_path: Path, name: str, rows: list[list[str]]) -> str:
    path = tmp_path / name
    path.write_text(csv_text(rows))
    return str(path)


def _priced_at_the_largest_value(book: Ledger) -> None:
    book.record_schedule(
        [
            ScheduleVersion(
                effective_from=date(2024, 1, 1), rules={"likes_received": Rule(value=MAX_POINT_VALUE), "spam": Rule(value=-MAX_POINT_VALUE)}
            )
        ],
        retroactive=True,
    )


def test_a_light_row_past_the_ledgers_bound_is_refused(book: Ledger, tmp_path: Path) -> None:
    # Every row counts, however small its quantity, and a batch is refused whole.
    _priced_at_the_largest_value(book)
    full = [action_row(f"k{i}", user=i % 7, quantity=MAX_QUANTITY) for i in range(FULL_ROWS)]
    assert book.ingest_file(_file(tmp_path, "a.csv", full)).new == FULL_ROWS
    with pytest.raises(InvalidInput) as caught:
        book.ingest_file(_file(tmp_path, "b.csv", [action_row("fine", user=9, quantity=0), action_row("light", user=8, quantity=1)]))
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (3, "quantity")
    assert "overflow" in problem.reason and f"{MAX_TOTAL_POINTS:,}" in problem.reason
    assert book.action_states(["fine"]) == {}


def test_one_batch_past_the_bound_names_the_row_that_passes_it(book: Ledger, tmp_path: Path) -> None:
    _priced_at_the_largest_value(book)
    rows = [action_row(f"k{i}", user=7, quantity=MAX_QUANTITY) for i in range(FULL_ROWS + 1)]
    rows.append(action_row("other", user=8, quantity=MAX_QUANTITY))
    with pytest.raises(InvalidInput) as caught:
        book.ingest_file(_file(tmp_path, "a.csv", rows))
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (FULL_ROWS + 2, "quantity")
    assert book.scores() == []
    # Nothing was counted for the refused batch: the ledger can still be filled.
    assert book.ingest_file(_file(tmp_path, "b.csv", rows[:FULL_ROWS])).new == FULL_ROWS


def test_a_ledger_at_the_bound_prices_exactly_and_refuses_one_unit_more(book: Ledger, cli, tmp_path: Path) -> None:
    _priced_at_the_largest_value(book)
    half = FULL_ROWS // 2
    top = [action_row(f"top{i}", user=1, quantity=MAX_QUANTITY, when=f"2024-05-{i % 28 + 1:02d}T12:00:00") for i in range(half)]
    other = [action_row(f"two{i}", user=2, quantity=MAX_QUANTITY) for i in range(half)]
    assert book.ingest_file(_file(tmp_path, "a.csv", top + other)).new == 2 * half
    with pytest.raises(InvalidInput) as caught:
        book.ingest_file(_file(tmp_path, "b.csv", [action_row("one-more", user=3, action="spam", quantity=1)]))
    assert "overflow" in caught.value.problems[0].reason
    # A merge adds one user's points to another's: inside the ledger's bound, still exact.
    book.merge_users(2, 1, at=datetime(2024, 6, 1))
    most = MAX_TOTAL_POINTS
    book.recalc(full=True)
    assert {row.user_id: row.points for row in book.scores()} == {1: most}
    board = book.leaderboard(at=date(2024, 6, 1))
    assert [(row.user_id, row.points) for row in board] == [(1, most)]
    assert book.leaderboard(period=Period.year, at=date(2024, 5, 1))[0].points == most
    assert book.audit(1)[-1].running_total == most
    result = cli("leaderboard", "--period", "year", "--at", "2024-05-01", "--format", "csv")
    assert str(most) in result.stdout


def test_adjustments_count_towards_the_bound_in_size(book: Ledger, tmp_path: Path) -> None:
    _priced_at_the_largest_value(book)
    rows = [action_row(f"k{i}", quantity=MAX_QUANTITY) for i in range(FULL_ROWS - 1)] + [action_row("last", quantity=MAX_QUANTITY - 1)]
    book.ingest_file(_file(tmp_path, "a.csv", rows))

    def adjustment(key: str, points: int) -> Adjustment:
        return Adjustment(key=key, user_id=5, points=points, on=date(2024, 5, 2), reason="test")

    assert book.record_adjustments([adjustment("a", -MAX_POINT_VALUE // 2), adjustment("b", MAX_POINT_VALUE // 2)]).new == 2
    with pytest.raises(InvalidInput) as caught:
        book.record_adjustments([adjustment("c", -1)])
    assert caught.value.problems[0].field == "points" and "overflow" in caught.value.problems[0].reason
    assert [item.key for item in book.adjustments()] == ["a", "b"]


def test_an_amendment_raising_a_quantity_counts_towards_the_bound(book: Ledger, tmp_path: Path) -> None:
    _priced_at_the_largest_value(book)
    rows = [action_row(f"k{i}", quantity=MAX_QUANTITY) for i in range(FULL_ROWS - 1)] + [action_row("last", quantity=MAX_QUANTITY - 10)]
    book.ingest_file(_file(tmp_path, "a.csv", rows))
    at = datetime(2024, 6, 1)
    assert book.record_corrections([Amendment(source_key="last", at=at, quantity=MAX_QUANTITY - 5)]).new == 1
    # Lowering frees nothing (a reading of the past still sees the larger quantity) ...
    assert book.record_corrections([Amendment(source_key="k0", at=at, quantity=1)]).new == 1
    assert book.record_corrections([Amendment(source_key="last", at=datetime(2024, 6, 2), quantity=MAX_QUANTITY)]).new == 1
    # ... and raising again counts what it adds.
    with pytest.raises(InvalidInput) as caught:
        book.record_corrections([Amendment(source_key="k0", at=datetime(2024, 6, 2), quantity=2)])
    assert caught.value.problems[0].field == "quantity" and "overflow" in caught.value.problems[0].reason
    assert book.action_states(["k0"])["k0"].quantity == 1


def test_a_schedule_value_too_large_for_the_recorded_quantities_is_refused(book: Ledger, tmp_path: Path) -> None:
    rows = [action_row(f"k{i}", quantity=MAX_QUANTITY) for i in range(FULL_ROWS + 1)]
    # Without a schedule the quantities are bounded at one point per unit.
    assert book.ingest_file(_file(tmp_path, "a.csv", rows)).new == FULL_ROWS + 1
    allowed = MAX_TOTAL_POINTS // ((FULL_ROWS + 1) * MAX_QUANTITY)
    with pytest.raises(InvalidInput) as caught:
        book.record_schedule(
            [ScheduleVersion(effective_from=date(2024, 1, 1), rules={"likes_received": Rule(by={"r": {"5": allowed + 1}})})],
            retroactive=True,
        )
    (problem,) = caught.value.problems
    assert problem.field == "likes_received" and f"{allowed:,}" in problem.reason
    assert book.schedule_history() == []
    book.record_schedule(
        [ScheduleVersion(effective_from=date(2024, 1, 1), rules={"likes_received": Rule(value=-allowed)})], retroactive=True
    )
    assert book.scores()[0].points == -allowed * (FULL_ROWS + 1) * MAX_QUANTITY


def test_schedule_set_over_the_bound_is_one_clear_line(cli) -> None:
    for value in (MAX_POINT_VALUE + 1, 2**63, -(10**30)):
        result = cli(
            "schedule", "set", "--effective-from", "2024-01-01", "--retroactive", f"likes_received={value}", "--new-action", ok=False
        )
        assert result.exit_code == 1 and "Traceback" not in result.output
        # Within 64 bits the bound is named; beyond, the number is refused as no whole number.
        assert f"between -{MAX_POINT_VALUE:,} and {MAX_POINT_VALUE:,}" in result.stderr or "must be a whole number" in result.stderr


def test_verify_reports_ledger_totals_that_differ_from_the_events(book: Ledger, tmp_path: Path) -> None:
    book.ingest_file(_file(tmp_path, "a.csv", [action_row("k1", quantity=MAX_QUANTITY), action_row("k2", quantity=5)]))
    book.record_adjustments([Adjustment(key="a", user_id=1, points=-30, on=date(2024, 5, 2), reason="test")])
    book.record_corrections([Amendment(source_key="k2", at=datetime(2024, 6, 1), quantity=8)])
    book.verify()
    # Lowered totals would let input that can overflow through: verify names the ledger.
    with book.engine.begin() as conn:
        conn.execute(text("UPDATE ledger_numbers SET quantity_total = 0"))
    with pytest.raises(JournalBroken, match=rf"below what its events add up to \({MAX_QUANTITY + 8} and 30\)"):
        book.verify()
