"""Scoring periods (a schedule version's `enabled` and `start_date`): what the documents say,
what is hashed, and what actions earn under them, on every backend."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, time
from pathlib import Path

import pytest
from pydantic import ValidationError

from ledger import Action, Ledger, Rule, ScheduleVersion
from ledger.domain import Amendment, Retraction, now_utc
from ledger.errors import InvalidInput
from ledger.exporters.schedules import export_schedule
from ledger.importers.schedules import read_schedule
from tests.factories import action_row, csv_text

LAUNCH = ScheduleVersion(effective_from=date(2024, 1, 1), rules={"likes_received": Rule(value=3)}, reason="launch")


def test_a_version_at_the_defaults_keeps_its_document_and_key() -> None:
    """Versions recorded before scoring periods existed hash as they did."""
    document = LAUNCH.to_document()
    assert "enabled" not in document and "start_date" not in document
    assert LAUNCH.model_copy(update={"enabled": True}).content_key() == LAUNCH.content_key()


def test_a_period_is_part_of_the_content() -> None:
    off = LAUNCH.model_copy(update={"enabled": False})
    later = LAUNCH.model_copy(update={"start_date": date(2024, 3, 1)})
    assert len({LAUNCH.content_key(), off.content_key(), later.content_key()}) == 3
    assert off.to_document()["enabled"] is False
    assert later.to_document()["start_date"] == "2024-03-01"


@pytest.mark.parametrize("fmt", ["json", "yaml", "csv"])
def test_documents_carry_the_period(fmt: str) -> None:
    versions = [
        LAUNCH,
        ScheduleVersion(effective_from=date(2024, 2, 1), rules={"likes_received": Rule(value=3)}, enabled=False),
        ScheduleVersion(effective_from=date(2024, 3, 1), rules={"likes_received": Rule(value=4)}, start_date=date(2024, 3, 15)),
    ]
    text = export_schedule(versions, fmt)
    assert read_schedule(io.BytesIO(text.encode()), f"s.{fmt}") == versions


def test_yaml_keys_and_refusals() -> None:
    document = "effective_from: 2024-01-01\nenabled: false\nstart_date: 2024-02-01\nrules: {likes_received: 3}\n"
    (version,) = read_schedule(io.BytesIO(document.encode()), "s.yaml")
    assert (version.enabled, version.start_date) == (False, date(2024, 2, 1))
    for document, name, field in [
        ('effective_from: 2024-01-01\nenabled: "off"\n', "s.yaml", "enabled"),
        ("effective_from: 2024-01-01\nstart_date: 2024-02-30\n", "s.yaml", "start_date"),
        ("effective_from,action,value,enabled\n2024-01-01,a,1,maybe\n", "s.csv", "enabled"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            read_schedule(io.BytesIO(document.encode()), name)
        assert field in str(refused.value.problems[0])
    with pytest.raises(ValidationError):
        ScheduleVersion(effective_from=date(2024, 1, 1), enabled=0)


def _like(key: str, day: date, user: int = 1) -> Action:
    return Action(source_key=key, user_id=user, action="likes_received", occurred_at=datetime.combine(day, time(12)))


@pytest.fixture
def periods(book: Ledger) -> tuple[Ledger, datetime, datetime]:
    """A start date set after some actions, then scoring turned off from March; returns the
    ledger and the moments just before each of the two changes was recorded."""
    book.record_schedule([LAUNCH], retroactive=True)
    book.record_actions([_like("jan", date(2024, 1, 10)), _like("feb", date(2024, 2, 10))])
    before_start = now_utc()
    book.record_schedule([LAUNCH.model_copy(update={"start_date": date(2024, 2, 1), "reason": "start in February"})], retroactive=True)
    # Recorded after the start date: the January action earns nothing, the February one 3.
    book.record_actions([_like("jan-late", date(2024, 1, 15)), _like("feb-late", date(2024, 2, 15))])
    before_off = now_utc()
    book.record_schedule(
        [ScheduleVersion(effective_from=date(2024, 3, 1), rules={"likes_received": Rule(value=3)}, enabled=False)], retroactive=True
    )
    book.record_actions([_like("mar", date(2024, 3, 5)), _like("feb-later", date(2024, 2, 20)), _like("jan-2", date(2024, 1, 20), user=2)])
    return book, before_start, before_off


def test_actions_outside_the_period_earn_nothing_and_earlier_ones_keep_theirs(periods) -> None:
    book, before_start, before_off = periods
    # jan and feb (recorded before the start date), feb-late and feb-later: 3 each.
    assert {s.user_id: s.points for s in book.scores()} == {1: 12, 2: 0}
    book.recalc()
    assert {s.user_id: s.points for s in book.scores()} == {1: 12, 2: 0}
    book.recalc(full=True)
    assert {s.user_id: s.points for s in book.scores()} == {1: 12, 2: 0}
    # As known before each change: what the ledger said then.
    assert {s.user_id: s.points for s in book.scores(as_known_at=before_start)} == {1: 6}
    assert {s.user_id: s.points for s in book.scores(as_known_at=before_off)} == {1: 9}


def test_the_audit_says_why_an_action_earned_nothing(periods) -> None:
    book, _before_start, _before_off = periods
    lines = {line.source_key: line for line in book.audit(1)}
    assert lines["jan"].points == 3 and lines["feb-later"].points == 3
    assert lines["jan-late"].points == 0 and "before the start date 2024-02-01" in lines["jan-late"].rule
    assert lines["mar"].points == 0 and "scoring off" in lines["mar"].rule
    assert book.audit(1)[-1].running_total == 12


def test_a_retraction_of_an_action_that_earned_nothing_cancels_nothing(periods) -> None:
    book, _before_start, _before_off = periods
    book.record_corrections(
        [
            Retraction(source_key="jan-late", at=datetime(2024, 4, 1)),
            Retraction(source_key="jan", at=datetime(2024, 4, 1)),
            Amendment(source_key="mar", at=datetime(2024, 4, 2), quantity=5),
        ]
    )
    book.recalc()
    assert {s.user_id: s.points for s in book.scores()} == {1: 9, 2: 0}
    lines = [line for line in book.audit(1) if line.kind != "action"]
    assert sorted((line.source_key, line.points) for line in lines) == [("jan", -3), ("jan-late", 0), ("mar", 0)]
    book.recalc(full=True)
    assert {s.user_id: s.points for s in book.scores()} == {1: 9, 2: 0}


def test_per_buckets_count_only_what_may_earn(book: Ledger) -> None:
    book.record_schedule([ScheduleVersion(effective_from=date(2024, 1, 1), rules={"posts_read": Rule(value=5, per=2)})], retroactive=True)
    read = [Action(source_key=f"r{i}", user_id=1, action="posts_read", occurred_at=datetime(2024, 1, 10, 12)) for i in range(3)]
    book.record_actions(read[:1])
    book.record_schedule(
        [ScheduleVersion(effective_from=date(2024, 1, 1), rules={"posts_read": Rule(value=5, per=2)}, start_date=date(2024, 2, 1))],
        retroactive=True,
    )
    book.record_actions(read[1:])
    # One counted read of three: below the bucket of 2.
    for full in (False, True):
        book.recalc(full=full)
        assert {s.user_id: s.points for s in book.scores()} == {1: 0}
    assert book.audit(1)[-1].running_total == 0


def _ingest(cli, tmp_path: Path, key: str, when: str) -> None:
    path = tmp_path / f"{key}.csv"
    path.write_text(csv_text([action_row(key, user=1, when=when)]))
    cli("ingest", str(path))


def test_schedule_set_turns_scoring_off_and_sets_a_start_date(cli, tmp_path: Path) -> None:
    (tmp_path / "launch.yaml").write_text("effective_from: 2024-01-01\nrules: {likes_received: 3}\n")
    cli("schedule", "import", str(tmp_path / "launch.yaml"), "--retroactive")
    _ingest(cli, tmp_path, "jan", "2024-01-10T12:00:00")
    result = cli("schedule", "set", "--effective-from", "2024-01-01", "--start-date", "2024-02-01", "--retroactive")
    assert "scoring from 2024-02-01" in result.stdout and "nobody moves" in result.stdout
    _ingest(cli, tmp_path, "jan-late", "2024-01-15T12:00:00")
    cli("schedule", "set", "--effective-from", "2024-03-01", "--disable", "--retroactive", "likes_received=4")
    _ingest(cli, tmp_path, "mar", "2024-03-05T12:00:00")
    cli("recalc")
    assert json.loads(cli("scores", "--format", "json").stdout)[0]["points"] == 3
    history = json.loads(cli("schedule", "history", "--format", "json").stdout)
    assert [row["scoring"] for row in history] == ["on", "from 2024-02-01", "off"]
    assert "scoring off" in cli("schedule", "show", "--at", "2024-03-05").stdout
    diff = json.loads(cli("schedule", "diff", "--from", "2024-02-01", "--to", "2024-03-01", "--format", "json").stdout)
    assert {"action": "(scoring)", "before": "from 2024-02-01", "after": "off", "change": "from 2024-02-01 → off"} in diff
    # Back on, without a start date, from April: inherited rules, a new period.
    cli("schedule", "set", "--effective-from", "2024-04-01", "--enable", "--start-date", "none", "--retroactive")
    assert json.loads(cli("schedule", "history", "--format", "json").stdout)[-1]["scoring"] == "on"
    lines = json.loads(cli("audit", "1", "--format", "json").stdout)
    assert any("scoring off" in line["rule"] for line in lines)


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--disable", "--enable"], "cannot be combined"), ([], "name a rule change"), (["--start-date", "2024-02-30"], "--start-date")],
)
def test_schedule_set_refuses_unclear_periods(cli, args: list[str], message: str) -> None:
    result = cli("schedule", "set", "--effective-from", "2024-01-01", "--retroactive", *args, ok=False)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert message in result.stderr
