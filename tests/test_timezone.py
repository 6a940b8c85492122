"""A ledger may count its days in its community's time zone (`init --timezone`); UTC is the
default. Days of actions and of corrections, and so periods and leaderboards, follow it."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.domain import Action, LevelCurve, Rule, ScheduleVersion
from ledger.store import ledger_zones
from tests.factories import action_row, csv_text

# 22:30 UTC on 1 May is 00:30 on 2 May in Zurich (CEST, UTC+2).
LATE_EVENING_UTC = "2024-05-01T22:30:00Z"


def actions_file(tmp_path: Path) -> str:
    path = tmp_path / "late.csv"
    path.write_text(csv_text([action_row("late", user=7, when=LATE_EVENING_UTC), action_row("noon", user=8, when="2024-05-01T12:00:00")]))
    return str(path)


def test_days_follow_the_ledgers_time_zone(cli, tmp_path: Path) -> None:
    result = cli("--ledger", "zurich", "init", "--timezone", "Europe/Zurich")
    assert "counts its days in Europe/Zurich" in result.stdout
    for ledger in ("zurich", "default"):
        cli("--ledger", ledger, "ingest", actions_file(tmp_path))
        cli("--ledger", ledger, "schedule", "set", "--effective-from", "2024-01-01", "--retroactive", "likes_received=5", "--new-action")
    zurich = cli("--ledger", "zurich", "scores", "--from", "2024-05-02", "--to", "2024-05-02", "--format", "csv").stdout
    utc = cli("--ledger", "default", "scores", "--from", "2024-05-02", "--to", "2024-05-02", "--format", "csv").stdout
    assert "7,5" in zurich and "8," not in zurich
    assert "7," not in utc
    board = cli("--ledger", "zurich", "leaderboard", "--period", "day", "--at", "2024-05-01", "--format", "csv").stdout
    assert "8,5" in board and ",7," not in board
    cli("--ledger", "zurich", "verify")


def test_a_retraction_is_booked_on_the_zones_day(cli, database_url: str, tmp_path: Path) -> None:
    cli("--ledger", "zurich", "init", "--timezone", "Europe/Zurich")
    cli("--ledger", "zurich", "ingest", actions_file(tmp_path))
    cli("--ledger", "zurich", "schedule", "set", "--effective-from", "2024-01-01", "--retroactive", "likes_received=5", "--new-action")
    cli("--ledger", "zurich", "retract", "noon", "--at", "2024-06-30T23:00:00Z", "--reason", "deleted")
    book = Ledger.open(database_url, "zurich")
    try:
        days = {(user, day): points for user, day, points in book.daily_points()}
    finally:
        book.close()
    assert days[(8, date(2024, 5, 1))] == 5 and days[(8, date(2024, 7, 1))] == -5


def test_an_unknown_zone_is_one_clear_line(cli) -> None:
    result = cli("init", "--timezone", "Europe/Zurch", ok=False)
    assert result.exit_code == 1
    assert "unknown time zone 'Europe/Zurch'" in result.stderr and "Traceback" not in result.stderr


def test_the_zone_is_fixed_once_the_ledger_holds_events(cli, tmp_path: Path) -> None:
    cli("--ledger", "zurich", "init", "--timezone", "Europe/Zurich")
    cli("--ledger", "zurich", "ingest", actions_file(tmp_path))
    cli("--ledger", "zurich", "init", "--timezone", "Europe/Zurich")  # the same zone again: fine
    result = cli("--ledger", "zurich", "init", "--timezone", "UTC", ok=False)
    assert "already holds events counted in Europe/Zurich" in result.stderr
    result = cli("init", "--timezone", "America/New_York")  # another ledger, still empty
    assert "counts its days in America/New_York" in result.stdout


def test_the_leaderboard_names_the_zone_of_its_days(cli, tmp_path: Path) -> None:
    cli("--ledger", "zurich", "init", "--timezone", "Europe/Zurich")
    cli("--ledger", "zurich", "ingest", actions_file(tmp_path))
    board = cli("--ledger", "zurich", "leaderboard", "--period", "month", "--at", "2024-05-15").stdout
    assert "month 2024-05-01 to 2024-05-31 (Europe/Zurich days)" in board


# At every instant at least one of these zones is on another date than UTC (UTC+14, UTC-12).
FAR_ZONES = ("Pacific/Kiritimati", "Etc/GMT+12")


def test_today_for_schedules_is_the_ledgers_today(cli) -> None:
    for number, zone in enumerate(FAR_ZONES):
        ledger = f"far{number}"
        cli("--ledger", ledger, "init", "--timezone", zone)
        book = Ledger.open(cli.database_url, ledger)
        try:
            day = book.today()
        finally:
            book.close()
        cli("--ledger", ledger, "schedule", "set", "--effective-from", day.isoformat(), "likes_received=5", "--new-action")
        shown = cli("--ledger", ledger, "schedule", "show").stdout
        assert f"in force on {day.isoformat()}" in shown
        yesterday = date.fromordinal(day.toordinal() - 1).isoformat()
        refused = cli("--ledger", ledger, "schedule", "set", "--effective-from", yesterday, "likes_received=6", ok=False)
        assert f"before today ({day.isoformat()})" in refused.stderr


def test_the_level_curve_in_force_is_the_one_of_the_ledgers_today(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The ledger's clock says 2030: a curve from then is in force today, though not by the machine's date.
    monkeypatch.setattr(ledger_zones, "today_in", lambda zone: date(2030, 6, 1))
    book = Ledger.open(database_url, "levels")
    try:
        book.record_actions([Action(source_key="a", user_id=1, action="likes_received", occurred_at=datetime(2024, 5, 1, 12))])
        book.record_schedule(
            [ScheduleVersion(effective_from=date(2024, 1, 1), rules={"likes_received": Rule(value=150)})], retroactive=True
        )
        book.record_schedule(
            [ScheduleVersion(effective_from=date(2030, 6, 1), rules={"likes_received": Rule(value=150)}, levels=LevelCurve())]
        )
        assert [(row.points, row.level) for row in book.scores()] == [(150, 2)]
        assert [row.level for row in book.leaderboard(limit=1)] == [2]
        assert book.audit(1)[-1].rule.startswith("level 2 ")
    finally:
        book.close()


def test_tables_show_times_in_the_ledgers_zone_and_machines_in_utc(cli, tmp_path: Path) -> None:
    cli("--ledger", "zurich", "init", "--timezone", "Europe/Zurich")
    for ledger in ("zurich", "default"):
        cli("--ledger", ledger, "ingest", actions_file(tmp_path))
        cli("--ledger", ledger, "schedule", "set", "--effective-from", "2024-01-01", "--retroactive", "likes_received=5", "--new-action")
    zurich = " ".join(cli("--ledger", "zurich", "audit", "7").stdout.split())
    assert "2024-05-02" in zurich and "00:30:00+02:00" in zurich and "22:30" not in zurich, zurich
    utc = " ".join(cli("--ledger", "default", "audit", "7").stdout.split())
    assert "2024-05-01" in utc and "22:30:00" in utc and "UTC" in utc and "+02:00" not in utc, utc
    assert '"when": "2024-05-01T22:30:00Z"' in cli("--ledger", "zurich", "audit", "7", "--format", "json").stdout
