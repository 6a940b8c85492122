"""No accepted input can overflow 64 bits: point values, quantities and each user's total
quantity are bounded at input, and a ledger at those bounds prices, ranks and audits
exactly on both backends (issue 23)."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from ledger import Ledger, Rule, ScheduleVersion
from ledger.domain import MAX_POINT_VALUE, MAX_QUANTITY, MAX_USER_QUANTITY
from ledger.errors import InvalidInput
from ledger.standings import Period
from ledger.store.quantity_caps import HEAVY_BOUND, LIGHT_HEADROOM, LIGHT_QUANTITY
from tests.factories import action_row, csv_text

FULL_ROWS = HEAVY_BOUND // MAX_QUANTITY


def test_the_bounds_keep_every_sum_inside_64_bits() -> None:
    assert MAX_USER_QUANTITY * MAX_POINT_VALUE < 2**63
    assert HEAVY_BOUND % MAX_QUANTITY == 0
    # Light rows pass the bound only after more than a billion of them for one user.
    assert LIGHT_HEADROOM // LIGHT_QUANTITY >= 10**9


@pytest.mark.parametrize(
    "rule",
    [{"value": MAX_POINT_VALUE + 1}, {"value": -MAX_POINT_VALUE - 1}, {"by": {"r": {"5": MAX_POINT_VALUE + 1}}}, {"by": {"r": {"1": -(10**12)}}}],
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


def test_one_batch_past_a_users_total_quantity_is_refused(book: Ledger, tmp_path: Path) -> None:
    rows = [action_row(f"k{i}", user=7, quantity=MAX_QUANTITY) for i in range(FULL_ROWS + 1)]
    rows.append(action_row("other", user=8, quantity=MAX_QUANTITY))
    with pytest.raises(InvalidInput) as caught:
        book.ingest_file(_file(tmp_path, "a.csv", rows))
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (FULL_ROWS + 2, "quantity")
    assert "user 7" in problem.reason
    assert book.scores() == []


def test_a_ledger_at_the_bounds_prices_exactly_and_refuses_one_unit_more(book: Ledger, cli, tmp_path: Path) -> None:
    book.record_schedule(
        [ScheduleVersion(effective_from=date(2024, 1, 1), rules={"likes_received": Rule(value=MAX_POINT_VALUE), "spam": Rule(value=-MAX_POINT_VALUE)})],
        retroactive=True,
    )
    top = [action_row(f"top{i}", user=1, quantity=MAX_QUANTITY, when=f"2024-05-{i % 28 + 1:02d}T12:00:00") for i in range(FULL_ROWS)]
    bottom = [action_row(f"bot{i}", user=2, action="spam", quantity=MAX_QUANTITY) for i in range(FULL_ROWS)]
    assert book.ingest_file(_file(tmp_path, "a.csv", top + bottom)).new == 2 * FULL_ROWS
    with pytest.raises(InvalidInput) as caught:
        book.ingest_file(_file(tmp_path, "b.csv", [action_row("one-more", user=1, quantity=LIGHT_QUANTITY + 1)]))
    assert "user 1" in caught.value.problems[0].reason
    # Light rows are not checked (room for a billion of them is kept); another user is unaffected.
    assert book.ingest_file(_file(tmp_path, "c.csv", [action_row("u3", user=3, quantity=1), action_row("light", user=1, quantity=1)])).new == 2
    most = HEAVY_BOUND * MAX_POINT_VALUE
    book.recalc(full=True)
    top_points = most + MAX_POINT_VALUE
    assert {row.user_id: row.points for row in book.scores()} == {1: top_points, 2: -most, 3: MAX_POINT_VALUE}
    board = book.leaderboard(at=date(2024, 5, 1))
    assert [(row.user_id, row.points) for row in board] == [(1, top_points), (3, MAX_POINT_VALUE), (2, -most)]
    month = book.leaderboard(period=Period.month, at=date(2024, 5, 1))
    assert month[0].points == top_points
    assert book.audit(1)[-1].running_total == top_points
    result = cli("leaderboard", "--period", "year", "--at", "2024-05-01", "--format", "csv")
    assert str(top_points) in result.stdout


def test_schedule_set_over_the_bound_is_one_clear_line(cli) -> None:
    for value in (MAX_POINT_VALUE + 1, 2**63, -(10**30)):
        result = cli("schedule", "set", "--effective-from", "2024-01-01", "--retroactive", f"likes_received={value}", "--new-action", ok=False)
        assert result.exit_code == 1 and "Traceback" not in result.output
        # Within 64 bits the bound is named; beyond, the number is refused as no whole number.
        assert f"between -{MAX_POINT_VALUE:,} and {MAX_POINT_VALUE:,}" in result.stderr or "must be a whole number" in result.stderr
