"""Corrections as events (adjustments, retractions, reinstatements, amendments, merges), on
every backend: priced at the version of the action's day, booked on the day they are made."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import text

from ledger import Action, Ledger, Rule, ScheduleVersion
from ledger.domain import Adjustment, Amendment, Reinstatement
from ledger.errors import InvalidInput, JournalBroken
from ledger.standings import Period
from ledger.store import event_rows
from tests.tampering import triggers_off

LAUNCH = ScheduleVersion(
    effective_from=date(2024, 1, 1),
    rules={"post": Rule(value=5), "read": Rule(value=1, per=100, min_quantity=5), "rating": Rule(by={"stars": {"4": 40, "5": 50}})},
)
LATER = ScheduleVersion(
    effective_from=date(2024, 3, 1), rules={"post": Rule(value=50), "read": Rule(value=1, per=100), "rating": Rule(value=0)}
)


def seeded(book: Ledger) -> Ledger:
    book.record_schedule([LAUNCH], retroactive=True)
    book.record_actions(
        [
            Action(source_key="p1", user_id=1, action="post", occurred_at="2024-02-01T10:00"),
            Action(source_key="p2", user_id=1, action="post", occurred_at="2024-02-02T10:00"),
            Action(source_key="r1", user_id=2, action="read", occurred_at="2024-02-01T10:00", quantity=150),
            Action(source_key="r2", user_id=2, action="read", occurred_at="2024-02-01T11:00", quantity=60),
            Action(source_key="s1", user_id=3, action="rating", occurred_at="2024-02-01T10:00", attributes={"stars": 5}),
        ]
    )
    book.recalc()
    return book


def points(book: Ledger) -> dict[int | str, int]:
    return {row.user_id: row.points for row in book.scores()}


def daily(book: Ledger) -> dict[tuple[int | str, date], int]:
    return {(user, day): amount for user, day, amount in book.daily_points()}


def test_a_retraction_is_booked_on_its_day_at_the_version_of_the_actions_day(book: Ledger) -> None:
    seeded(book)
    book.record_schedule([LATER], retroactive=True)
    book.retract(["p1"], at=datetime(2024, 4, 2, 9), reason="spam")
    book.recalc()
    # p1 earned 5 under the launch values; the retraction takes back 5, not today's 50.
    assert daily(book)[(1, date(2024, 2, 1))] == 5
    assert daily(book)[(1, date(2024, 4, 2))] == -5
    assert points(book)[1] == 5
    # The February leaderboard keeps its points; the all-time total is right.
    february = book.leaderboard(period=Period.month, at=date(2024, 2, 15))
    assert {row.user_id: row.points for row in february}[1] == 10
    lines = book.audit(1)
    assert [line.kind for line in lines] == ["action", "action", "retraction"]
    assert lines[-1].points == -5 and lines[-1].running_total == 5 and lines[-1].reason == "spam"


def test_a_retraction_in_a_per_bucket_removes_the_difference_it_makes(book: Ledger) -> None:
    seeded(book)
    assert points(book)[2] == 2  # (150 + 60) // 100
    book.retract(["r2"], at=datetime(2024, 2, 5))
    book.recalc()
    assert points(book)[2] == 1
    assert daily(book)[(2, date(2024, 2, 5))] == -1


def test_retracting_an_unknown_or_retracted_key_writes_nothing(book: Ledger) -> None:
    seeded(book)
    with pytest.raises(InvalidInput) as refused:
        book.retract(["p1", "nope"], at=datetime(2024, 3, 1))
    assert [problem.reason for problem in refused.value.problems] == ["'nope': no action with this source_key is recorded"]
    assert book.action_states(["p1"])["p1"].active  # nothing of the batch was written
    book.retract(["p1"], at=datetime(2024, 3, 1))
    assert book.retract(["p1"], at=datetime(2024, 3, 1)).new == 0  # the same retraction again
    with pytest.raises(InvalidInput, match="refused"):
        book.retract(["p1"], at=datetime(2024, 3, 2))
    with pytest.raises(InvalidInput):
        book.retract(["p2"], at=datetime(2024, 1, 5))  # before the action happened


def test_a_reinstatement_counts_the_action_again_from_its_day(book: Ledger) -> None:
    seeded(book)
    book.retract(["p1"], at=datetime(2024, 3, 1))
    book.record_corrections([Reinstatement(source_key="p1", at=datetime(2024, 3, 10))])
    book.recalc()
    assert points(book)[1] == 10
    assert daily(book)[(1, date(2024, 3, 10))] == 5
    with pytest.raises(InvalidInput, match="refused"):
        book.record_corrections([Reinstatement(source_key="p1", at=datetime(2024, 3, 11))])


def test_an_amendment_books_the_difference_and_the_same_state_again_is_a_no_op(book: Ledger) -> None:
    seeded(book)
    book.record_corrections([Amendment(source_key="s1", at=datetime(2024, 2, 20), quantity=1, attributes={"stars": 4})])
    assert book.record_corrections([Amendment(source_key="s1", at=datetime(2024, 2, 21), quantity=1, attributes={"stars": 4})]).new == 0
    with pytest.raises(InvalidInput, match="refused"):
        book.record_corrections([Amendment(source_key="s1", at=datetime(2024, 2, 10), quantity=1, attributes={"stars": 5})])
    book.recalc()
    assert points(book)[3] == 40
    assert daily(book)[(3, date(2024, 2, 20))] == -10
    book.record_corrections([Amendment(source_key="r2", at=datetime(2024, 2, 22), quantity=160)])
    book.recalc()
    assert points(book)[2] == 3  # (150 + 160) // 100


def test_adjustments_count_except_compensations_and_are_idempotent_by_key(book: Ledger) -> None:
    seeded(book)
    first = Adjustment(key="a1", user_id=1, points=7, on=date(2024, 5, 1), reason="event")
    sent = Adjustment(key="c1", user_id=1, points=100, on=date(2024, 5, 1), reason="sent", kind="compensation")
    assert book.record_adjustments([first, sent]).new == 2
    assert book.record_adjustments([first]).new == 0
    with pytest.raises(InvalidInput) as refused:
        book.record_adjustments([first.model_copy(update={"points": 8})])
    assert refused.value.problems[0].field == "points"
    book.recalc()
    assert points(book)[1] == 17
    assert [(line.kind, line.points) for line in book.audit(1)][-2:] == [("adjustment", 7), ("compensation", 0)]
    assert [a.key for a in book.adjustments(kind="compensation")] == ["c1"]


def test_merges_follow_chains_and_refuse_cycles(book: Ledger) -> None:
    seeded(book)
    before = datetime.now()
    book.merge_users(1, 2)
    book.merge_users(2, 3)
    with pytest.raises(InvalidInput, match="refused"):
        book.merge_users(3, 1)
    with pytest.raises(InvalidInput):
        book.merge_users(3, 3)
    book.recalc()
    assert points(book) == {3: 10 + 2 + 50}
    assert {line.merged_from for line in book.audit(3)} == {None, 1, 2}
    assert points(book) == {row.user_id: row.points for row in book.scores(as_known_at=datetime(9999, 1, 1))}
    apart = {row.user_id: row.points for row in book.scores(as_known_at=before)}
    assert apart == {1: 10, 2: 2, 3: 50}
    book.recalc(full=True)
    assert points(book) == {3: 62}


@pytest.mark.parametrize(
    ("table", "change"),
    [
        ("adjustments", "UPDATE adjustments SET points = 700"),
        ("corrections", "UPDATE corrections SET old_quantity = 9"),
        ("merges", "UPDATE merges SET target_user = 3"),
    ],
)
def test_corrections_are_append_only_and_verify_sees_tampering(book: Ledger, table: str, change: str) -> None:
    assert table in change
    seeded(book)
    book.retract(["p1"], at=datetime(2024, 3, 1))
    book.record_adjustments([Adjustment(key="a1", user_id=1, points=7, on=date(2024, 5, 1), reason="event")])
    book.merge_users(1, 2)
    book.verify()
    with pytest.raises(Exception, match="append-only"):  # noqa: B017 - each backend's trigger error
        with book.engine.begin() as conn:
            conn.execute(text(change))
    with triggers_off(book) as conn:
        conn.execute(text(change))
    with pytest.raises(JournalBroken, match="hash mismatch"):
        book.verify()


def test_the_correction_commands(cli, tmp_path) -> None:
    book = seeded(Ledger.open(cli.database_url))
    assert "1 retracted" in cli("retract", "p1", "--at", "2024-03-01T09:00", "--reason", "spam").stdout
    refused = cli("retract", "p1", ok=False)
    assert refused.exit_code == 1 and "already retracted" in refused.stderr and "Traceback" not in refused.stderr
    assert "1 recorded" in cli("adjust", "2", "--on", "2024-06-01", "--reason", "duplicate", "--", "-1").stdout
    assert "0 recorded, 1 already present" in cli("adjust", "2", "--on", "2024-06-01", "--reason", "duplicate", "--", "-1").stdout
    bulk = tmp_path / "adjustments.csv"
    bulk.write_text("key,user,points,on,reason,kind\nb1,3,5,2024-06-02,bonus,manual\nb2,3,9,2024-06-02,sent,compensation\n")
    assert "2 recorded" in cli("adjustments", "import", str(bulk)).stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("key,user,points,on,reason\nb3,3,x,2024-06-02,bonus\n")
    failed = cli("adjustments", "import", str(bad), ok=False)
    assert failed.exit_code == 1 and f"{bad}:2: points:" in failed.stderr
    # A misspelt column is refused, not dropped; a missing one is named as the file names it.
    misspelt = tmp_path / "misspelt.csv"
    misspelt.write_text("key,user,points,on,reason,autor\nb4,3,5,2024-06-02,bonus,ana\n")
    failed = cli("adjustments", "import", str(misspelt), ok=False)
    assert failed.exit_code == 1 and "Traceback" not in failed.output
    assert f"{misspelt}:2: unknown column(s) 'autor' (did you mean 'author'?)" in failed.stderr
    headless = tmp_path / "headless.csv"
    headless.write_text("key,points,on\nb5,5,2024-06-02\n")
    failed = cli("adjustments", "import", str(headless), ok=False)
    assert f"{headless}:2: no value for user, reason (required: key, user, points, on, reason)" in failed.stderr
    missing = cli("adjustments", "import", str(tmp_path / "nope.csv"), ok=False)
    assert missing.exit_code == 1 and "nope.csv: No such file or directory" in missing.stderr
    assert isinstance(missing.exception, SystemExit), missing.exception  # no traceback
    assert "b4" not in cli("adjustments", "list", "--format", "csv").stdout
    # A misspelt kind is refused rather than listing nothing.
    assert "b2" in cli("adjustments", "list", "--kind", "compensation", "--format", "csv").stdout
    wrong_kind = cli("adjustments", "list", "--kind", "compensations", ok=False)
    assert wrong_kind.exit_code == 1 and wrong_kind.stdout == ""
    assert wrong_kind.stderr.splitlines() == [
        "--kind: 'compensations' is not a kind: manual, imported, compensation; did you mean compensation?",
        "error: adjustments list refused: 1 problem",
    ]
    # So is a user the ledger has never seen; a user without adjustments lists none.
    assert cli("adjustments", "list", "--user", "3", "--format", "csv").stdout.count("\n") == 3
    assert cli("adjustments", "list", "--user", "1", "--format", "csv").stdout.count("\n") == 1
    unseen = cli("adjustments", "list", "--user", "999", ok=False)
    assert unseen.exit_code == 1 and unseen.stderr.strip() == "error: user 999 has no recorded actions in ledger 'default'"
    assert cli("merge-users", "3", "1").stdout.strip() == "merged"
    assert cli("merge-users", "1", "3", ok=False).exit_code == 1
    cli("recalc")
    scores = cli("scores", "--format", "csv").stdout.splitlines()
    assert scores == ["user_id,points", "1,60", "2,1"]  # 1: 10 - 5 + 50 + 5; 2: 2 - 1
    audit = cli("audit", "1", "--format", "csv").stdout
    assert "retraction" in audit and "compensation" in audit
    book.close()


def test_an_action_file_retracts_and_amends_with_its_correction_columns(cli, tmp_path) -> None:
    book = seeded(Ledger.open(cli.database_url))
    header = "source_key,user_id,action,occurred_at,quantity,attributes,retracted_at,amended_at\n"
    corrections = tmp_path / "corrections.csv"
    corrections.write_text(
        header
        + "p1,1,post,2024-02-01T10:00,1,,2024-03-01T09:00,\n"  # deleted
        + "r2,2,read,2024-02-01T11:00,160,,,2024-02-03T20:00\n"  # read more that day
        + "v9,4,read,2024-02-05T00:00,120,,,2024-02-05T10:00\n"  # not recorded yet: a new action
    )
    assert "3 new" in cli("ingest", str(corrections)).stdout
    assert "0 new, 3 already present" in cli("ingest", str(corrections)).stdout
    cli("recalc")
    assert points(book) == {1: 5, 2: 3, 3: 50, 4: 1}
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text(
        '{"source_key": "p2", "user_id": 9, "action": "post", "occurred_at": "2024-02-02T10:00", "retracted_at": "2024-03-01"}\n'
        '{"source_key": "zz", "user_id": 1, "action": "post", "occurred_at": "2024-02-02T10:00", "retracted_at": "2024-03-01"}\n'
        '{"source_key": "new", "user_id": 1, "action": "post", "occurred_at": "2024-02-02T10:00"}\n'
    )
    refused = cli("ingest", str(wrong), ok=False)
    assert refused.exit_code == 1
    assert f"{wrong}:1: user_id:" in refused.stderr and f"{wrong}:2: retracted_at:" in refused.stderr
    assert "new" not in book.action_states(["new"])  # nothing of the file was written
    book.close()


def test_platform_points_see_every_action_as_it_stands_now_at_one_set_of_values(book: Ledger) -> None:
    seeded(book)
    book.record_schedule([LATER], retroactive=True)
    book.retract(["p1"], at=datetime(2024, 4, 2))
    book.record_corrections([Amendment(source_key="r2", at=datetime(2024, 4, 3), quantity=60)])
    book.record_adjustments([Adjustment(key="a1", user_id=3, points=7, on=date(2024, 5, 1), reason="event")])
    book.merge_users(3, 2)
    today = {row.user_id: row.points for row in book.platform_points(date(2024, 6, 1))}
    # At the later values: p2 alone (50); reads 150 + 60 in one bucket (2); the rating 0, merged into 2.
    assert today == {1: 50, 2: 2}
    launch = {row.user_id: row.points for row in book.platform_points(date(2024, 2, 1))}
    assert launch == {1: 5, 2: 2 + 50}
    # From a day: only actions on or after it, wherever their corrections are booked.
    assert {row.user_id: row.points for row in book.platform_points(date(2024, 6, 1), from_day=date(2024, 2, 2))} == {1: 50}


@pytest.mark.parametrize(
    "reason",
    ["plain", "tab\there, newline\nhere, backslash \\ and \\N", "carriage\rreturn", "\\.", "ünïcödé ✓"],
)
def test_corrections_store_their_text_as_given_and_verify(book: Ledger, reason: str) -> None:
    """Every character canonical bytes or COPY escape, or COPY reads specially, is stored as
    given and hashed as stored (PostgreSQL appends these rows as COPY text)."""
    seeded(book)
    book.retract(["p1"], at=datetime(2024, 3, 1), reason=reason)
    book.record_adjustments([Adjustment(key=f"a{reason}", user_id=1, points=7, on=date(2024, 5, 1), reason=reason)])
    book.verify()
    with book.engine.connect() as conn:
        assert conn.execute(text("SELECT reason FROM corrections")).scalar_one() == reason
        assert conn.execute(text("SELECT adjustment_key, reason FROM adjustments")).one() == (f"a{reason}", reason)


def test_a_batch_streamed_in_chunks_stores_and_hashes_each_row_as_given(book: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL sends a batch's rows a chunk at a time while it spells the next
    (ledger/store/event_rows.py): a chunk that needs the driver's spelling (a carriage return)
    sits between two that do not, and the seqs and the chain run on across chunks."""
    monkeypatch.setattr(event_rows, "COPY_CHUNK_ROWS", 3)
    book.init()
    reasons = [f"bonus {n}" if n != 4 else "carriage\rreturn" for n in range(8)]
    written = book.record_adjustments(
        [Adjustment(key=f"a{n}", user_id=n % 2 + 1, points=n, on=date(2024, 5, 1), reason=reason) for n, reason in enumerate(reasons)]
    )
    assert written.new == 8
    book.verify()
    with book.engine.connect() as conn:
        stored = conn.execute(text("SELECT adjustment_key, reason, seq FROM adjustments ORDER BY seq")).all()
    assert [(key, reason) for key, reason, _seq in stored] == [(f"a{n}", reason) for n, reason in enumerate(reasons)]
    assert [seq for _key, _reason, seq in stored] == list(range(stored[0].seq, stored[0].seq + 8))
