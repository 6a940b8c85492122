"""`verify --projections` recomputes the projections from the events and reports every row
that differs; reads refuse a projection state ahead of the journal (issue 23)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ledger import Ledger, Rule, ScheduleVersion
from ledger.verify_projections import ProjectionDifference, ProjectionsAhead
from tests.factories import action_row, csv_text


@pytest.fixture
def priced(book: Ledger, tmp_path: Path) -> Ledger:
    rows = [action_row(f"a{i}", user=i % 3 + 1, when=f"2024-0{i % 4 + 1}-1{i % 9}T10:00:00") for i in range(20)]
    rows += [action_row(f"p{i}", user=2, action="posts_read", quantity=40) for i in range(3)]
    (tmp_path / "a.csv").write_text(csv_text(rows))
    book.ingest_file(str(tmp_path / "a.csv"))
    book.record_schedule(
        [ScheduleVersion(effective_from=date(2024, 1, 1), rules={"likes_received": Rule(value=3), "posts_read": Rule(value=1, per=100)})],
        retroactive=True,
    )
    book.recalc(full=True)
    book.record_schedule([ScheduleVersion(effective_from=date(2024, 3, 1), rules={"likes_received": Rule(value=5)})], retroactive=True)
    book.recalc()  # incremental: the check must agree with what it maintains too
    return book


def test_projections_kept_by_recalc_agree_with_the_events(priced: Ledger, cli) -> None:
    assert priced.projection_differences() == []
    result = cli("verify", "--projections")
    assert "projections agree with the events" in result.stdout


@pytest.mark.parametrize(
    ("statement", "places"),
    [
        ("UPDATE user_totals SET points = points + 1000 WHERE user_id = 1", ["user_totals user 1"]),
        (
            "UPDATE daily_scores SET points = points + 7 WHERE user_id = 2 AND day = (SELECT MIN(day) FROM daily_scores WHERE user_id = 2)",
            ["daily_scores user 2"],
        ),
        ("DELETE FROM period_totals WHERE period_months = 3 AND user_id = 3", ["period_totals quarter"]),
        (
            "INSERT INTO user_totals (ledger_id, user_id, points) SELECT ledger_id, 99, 5 FROM user_totals WHERE user_id = 1",
            ["user_totals user 99"],
        ),
    ],
)
def test_every_edited_projection_row_is_reported(priced: Ledger, cli, statement: str, places: list[str]) -> None:
    with priced.engine.begin() as conn:
        conn.exec_driver_sql(statement)
    differences = priced.projection_differences()
    assert differences
    assert all(isinstance(d, ProjectionDifference) for d in differences)
    for place in places:
        assert any(isinstance(d, ProjectionDifference) and place in d.where for d in differences), differences
    result = cli("verify", "--projections", ok=False)
    assert result.exit_code == 1
    assert "journal verified" in result.stdout  # the events themselves are fine
    assert f"differ from the events in {len(differences)} place(s)" in result.stderr
    priced.recalc(full=True)
    assert priced.projection_differences() == []


def test_a_projection_state_ahead_of_the_journal_is_refused_by_reads(priced: Ledger, tmp_path: Path, cli) -> None:
    before = priced.scores()
    with priced.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE projection_state SET through_seq = through_seq + 1000")
    (tmp_path / "b.csv").write_text(csv_text([action_row("late", user=1, when="2024-05-01T10:00:00")]))
    priced.ingest_file(str(tmp_path / "b.csv"))
    with pytest.raises(ProjectionsAhead, match=r"`recalc\(full=True\)`"):
        priced.scores()
    with pytest.raises(ProjectionsAhead):
        priced.leaderboard(at=date(2024, 5, 1))
    result = cli("scores", ok=False)
    assert result.exit_code == 1 and "ahead" not in result.stdout and "recalc --full" in result.stderr
    assert "Traceback" not in result.output
    assert any("seq" in str(d) for d in priced.projection_differences())
    # An incremental recalc rebuilds in full, and the new event counts.
    assert priced.recalc().full
    after = {row.user_id: row.points for row in priced.scores()}
    assert after[1] == {row.user_id: row.points for row in before}[1] + 5


@pytest.mark.parametrize("full", [True, False])
def test_projections_with_corrections_adjustments_and_merges_agree(priced: Ledger, full: bool) -> None:
    from datetime import datetime

    from ledger.domain import Adjustment

    priced.record_adjustments([Adjustment(key="bonus", user_id=1, points=40, on=date(2024, 2, 3), reason="event")])
    priced.retract(["a4"], at=datetime(2024, 3, 5, 12))
    priced.merge_users(3, 2, at=datetime(2024, 3, 6, 12), reason="duplicate account")
    priced.recalc(full=full)
    assert priced.projection_differences() == []
    with priced.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE user_totals SET points = points + 1 WHERE user_id = 2")
    assert [d if isinstance(d, str) else d.where for d in priced.projection_differences()] == ["user_totals user 2"]
