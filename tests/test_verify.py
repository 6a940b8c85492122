"""`verify` detects every kind of tampering with the journal, on every backend, and names
the first broken place; `digest` pins a head that later verifications must still find."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from ledger import Ledger, Rule, ScheduleVersion
from ledger.domain import LevelCurve
from ledger.errors import ImmutableEventError, JournalBroken
from ledger.store.engine import translate
from ledger.verify import JournalBreak, JournalDigest
from tests.factories import action_row, csv_text
from tests.tampering import rehash_everything, tamper, triggers_off

# Text that exercises every escape of the canonical spelling, and a formula-looking name.
AWKWARD = ["tab\there", "new\nline", "back\\slash", '=HYPERLINK("x")', "ünïcödé ✓"]


@pytest.fixture
def journal(book: Ledger, tmp_path: Path) -> Ledger:
    """Three batches: 10 actions (seq 1-10), one schedule version (seq 11), 5 actions (12-16)."""
    first = [action_row(f"a{i}", user=i % 3 + 1, attributes={"rating": i % 5}) for i in range(5)]
    first += [action_row(f"odd-{i}", user=9, action=name) for i, name in enumerate(AWKWARD)]
    (tmp_path / "first.csv").write_text(csv_text(first))
    book.ingest_file(str(tmp_path / "first.csv"))
    book.record_schedule(
        [
            ScheduleVersion(
                effective_from=date(2024, 1, 1),
                rules={"likes_received": Rule(value=3), "rating_received": Rule(by={"rating": {"4": 40, "5": 50}})},
                levels=LevelCurve(coefficient=50),
                reason="launch",
            )
        ],
        retroactive=True,
    )
    (tmp_path / "second.csv").write_text(csv_text([action_row(f"b{i}", user=4) for i in range(5)]))
    book.ingest_file(str(tmp_path / "second.csv"))
    return book


def broken(book: Ledger, digest=None) -> JournalBreak:
    with pytest.raises(JournalBroken) as caught:
        book.verify(digest)
    place = caught.value.place
    assert isinstance(place, JournalBreak)
    return place


def test_an_untouched_journal_verifies(journal: Ledger) -> None:
    result = journal.verify()
    assert (result.batches, result.events) == (3, 16)
    assert (result.head.batch_id, result.head.last_seq) == (3, 16)
    assert result.head.hash == journal.digest().hash


def test_empty_journal_verifies(book: Ledger) -> None:
    result = book.verify()
    assert (result.batches, result.events, result.head.batch_id) == (0, 0, 0)


# (statements run with the triggers off, then (what, batch, seq) of the first broken place;
# None where the place is not pinned to one field).
TAMPERING = [
    pytest.param(
        ["UPDATE actions SET attributes = '{\"rating\":5}' WHERE source_key = 'a2'"], ("hash mismatch", 1, None), id="changed-byte"
    ),
    pytest.param(["UPDATE actions SET quantity = 2 WHERE seq = 14"], ("hash mismatch", 3, None), id="changed-quantity"),
    pytest.param(
        ["UPDATE schedule_rule_points SET points = 500 WHERE attribute_value = '5'"],
        ("inconsistent event", 2, 11),
        id="changed-points-table",
    ),
    pytest.param(["UPDATE batches SET origin = 'python' WHERE batch_id = 1"], ("hash mismatch", 1, None), id="changed-origin"),
    # A scoring period turned off, or given a start date, after the fact.
    pytest.param(["UPDATE schedule_versions SET enabled = (1 = 0) WHERE seq = 11"], ("inconsistent event", 2, 11), id="scoring-turned-off"),
    pytest.param(
        ["UPDATE schedule_versions SET start_date = '2024-06-01' WHERE seq = 11"], ("inconsistent event", 2, 11), id="start-date-set"
    ),
    # `day` is derived, not hashed: checked against occurred_at instead.
    pytest.param(["UPDATE actions SET day = '2020-01-01' WHERE seq = 3"], ("inconsistent event", 1, 3), id="changed-day"),
    pytest.param(["DELETE FROM actions WHERE seq = 4"], ("missing event", 1, 4), id="deleted-event"),
    pytest.param(["UPDATE actions SET ledger = 'other' WHERE seq = 2"], ("event outside its batch", 1, 2), id="moved-ledger"),
    pytest.param(["UPDATE actions SET ledger_id = ledger_id + 1 WHERE seq = 2"], ("inconsistent event", 1, 2), id="renumbered-ledger"),
    pytest.param(
        ["UPDATE actions SET recorded_at = '2000-01-01 00:00:00.000000' WHERE seq = 2"],
        ("event outside its batch", 1, 2),
        id="back-dated-record-time",
    ),
    pytest.param(
        ["DELETE FROM schedule_rule_points", "DELETE FROM schedule_rules", "DELETE FROM schedule_versions"],
        ("missing event", 2, 11),
        id="deleted-schedule-version",
    ),
    pytest.param(["DELETE FROM batches WHERE batch_id = 2"], ("missing batch", 2, None), id="deleted-batch-row"),
    pytest.param(
        ["UPDATE batches SET recorded_at = '2000-01-01 00:00:00.000000' WHERE batch_id = 3"],
        ("time goes backwards", 3, None),
        id="back-dated-batch",
    ),
    pytest.param(["UPDATE batches SET event_count = 4 WHERE batch_id = 3"], ("count mismatch", 3, None), id="changed-count"),
    pytest.param(["UPDATE batches SET prev_hash = hash WHERE batch_id = 2"], ("prev_hash mismatch", 2, None), id="relinked-batch"),
    pytest.param(["UPDATE batches SET first_seq = 12 WHERE batch_id = 2"], ("gap in seq", 2, None), id="moved-batch-range"),
    pytest.param(
        ["INSERT INTO schedule_rule_points (version_seq, action, attribute_value, points) VALUES (999, 'x', '1', 1)"],
        ("stray rows", None, 999),
        id="points-of-no-version",
    ),
    pytest.param(
        ["INSERT INTO schedule_rule_points (version_seq, action, attribute_value, points) VALUES (11, 'likes_received', '1', 1)"],
        ("inconsistent event", 2, 11),
        id="points-for-a-plain-rule",
    ),
    pytest.param(["DELETE FROM batches WHERE batch_id = 3"], ("event without batch", None, 12), id="orphaned-events"),
    # Same rows, other order: swap the sequence numbers of two events.
    pytest.param(
        [
            "UPDATE actions SET seq = -1 WHERE seq = 2",
            "UPDATE actions SET seq = 2 WHERE seq = 3",
            "UPDATE actions SET seq = 3 WHERE seq = -1",
        ],
        ("hash mismatch", 1, None),
        id="reordered-events",
    ),
    # Same seqs, swapped payloads (two events' source keys).
    pytest.param(
        [
            "UPDATE actions SET source_key = 'tmp' WHERE seq = 12",
            "UPDATE actions SET source_key = 'b0' WHERE seq = 13",
            "UPDATE actions SET source_key = 'b1' WHERE seq = 12",
        ],
        ("hash mismatch", 3, None),
        id="swapped-payloads",
    ),
    # Room made at seq 14 by moving later events up, a forged event put there and batch 3
    # widened to cover it: sequence numbers, ranges and counts all agree; the hash does not.
    pytest.param(
        [
            "UPDATE actions SET seq = -seq - 1 WHERE seq >= 14",
            "UPDATE actions SET seq = -seq WHERE seq < 0",
            "INSERT INTO actions (seq, batch_id, ledger, ledger_id, source_key, user_id, action, occurred_at, day, "
            "quantity, attributes, recorded_at) SELECT 14, batch_id, ledger, ledger_id, 'forged', 1, action, occurred_at, day, 100, "
            "attributes, recorded_at FROM actions WHERE seq = 13",
            "UPDATE batches SET last_seq = 17, event_count = 6 WHERE batch_id = 3",
        ],
        ("hash mismatch", 3, None),
        id="inserted-in-the-middle",
    ),
]


@pytest.mark.parametrize(("statements", "expected"), TAMPERING)
def test_tampering_is_found(journal: Ledger, statements: list[str], expected: tuple) -> None:
    tamper(journal, *statements)
    place = broken(journal)
    what, batch_id, seq = expected
    assert place.what == what
    assert place.batch_id == batch_id
    if seq is not None:
        assert place.seq == seq


def test_changed_point_value_in_a_schedule(journal: Ledger) -> None:
    tamper(journal, "UPDATE schedule_rules SET value = 30 WHERE action = 'likes_received'")
    place = broken(journal)
    # The stored content key no longer matches: caught at the version itself.
    assert (place.what, place.batch_id, place.seq) == ("inconsistent event", 2, 11)
    assert "version_key" in place.detail


@pytest.mark.parametrize(
    ("update", "statement"),
    [
        ({"rules": {"likes_received": Rule(value=30)}}, "UPDATE schedule_rules SET value = 30 WHERE action = 'likes_received'"),
        ({"start_date": date(2024, 6, 1)}, "UPDATE schedule_versions SET start_date = '2024-06-01' WHERE seq = 11"),
    ],
    ids=["rule", "scoring period"],
)
def test_changed_schedule_with_a_matching_key(journal: Ledger, update: dict, statement: str) -> None:
    # A careful attacker also fixes the content key; the batch hash still differs.
    version = journal.schedule_history()[0].version
    if "rules" in update:
        update = {"rules": {**version.rules, **update["rules"]}}
    changed = version.model_copy(update=update)
    tamper(journal, statement, f"UPDATE schedule_versions SET version_key = '{changed.content_key()}' WHERE seq = 11")
    place = broken(journal)
    assert (place.what, place.batch_id) == ("hash mismatch", 2)


def test_truncated_tail_is_caught_by_a_digest(journal: Ledger) -> None:
    digest = journal.digest()
    tamper(journal, "DELETE FROM actions WHERE batch_id = 3", "DELETE FROM batches WHERE batch_id = 3")
    # What is left is a consistent chain: only the digest kept elsewhere shows the loss.
    assert journal.verify().head.batch_id == 2
    place = broken(journal, digest)
    assert place.what == "truncated"
    assert "batch 3" in place.detail and "seq 16" in place.detail


# Inserting is how events are written, so these need no trigger silenced.
FORGED_INSERTS = [
    pytest.param(
        "INSERT INTO actions (seq, batch_id, ledger, ledger_id, source_key, user_id, action, occurred_at, day, "
        "quantity, attributes, recorded_at) SELECT 17, 1, ledger, ledger_id, 'forged', 1, action, occurred_at, day, "
        "100, attributes, recorded_at FROM actions WHERE seq = 1",
        ("event without batch", None, 17),
        id="event-after-the-head",
    ),
    pytest.param(
        "INSERT INTO schedule_versions (seq, batch_id, ledger, version_key, effective_from, retroactive, "
        "recorded_at) SELECT 5, 1, ledger, 'forged', day, false, recorded_at FROM actions WHERE seq = 5",
        ("duplicate seq", 1, 5),
        id="seq-in-two-tables",
    ),
]


@pytest.mark.parametrize(("statement", "expected"), FORGED_INSERTS)
def test_forged_inserts_are_found(journal: Ledger, statement: str, expected: tuple) -> None:
    with journal.engine.begin() as conn:
        conn.exec_driver_sql(statement)
    place = broken(journal)
    assert (place.what, place.batch_id, place.seq) == expected


def test_rewritten_history_with_recomputed_hashes_fails_against_an_old_digest(journal: Ledger) -> None:
    digest = journal.digest()
    tamper(journal, "UPDATE actions SET quantity = 50 WHERE seq = 2")
    rehash_everything(journal)
    journal.verify()  # consistent with itself again...
    place = broken(journal, digest)  # ...but not with what was pinned outside the database
    assert (place.what, place.batch_id) == ("differs from digest", 3)


def test_digest_of_an_older_head_still_verifies_after_more_writes(journal: Ledger, tmp_path: Path) -> None:
    digest = journal.digest()
    (tmp_path / "third.csv").write_text(csv_text([action_row("c1")]))
    journal.ingest_file(str(tmp_path / "third.csv"))
    result = journal.verify(digest)
    assert result.head.batch_id == 4 and result.digest == digest


@pytest.mark.parametrize("backend", ["postgresql"])
def test_superuser_update_in_replica_mode(journal: Ledger) -> None:
    engine = journal.engine
    # Replica mode alone does not silence triggers enabled ALWAYS...
    with pytest.raises(Exception) as caught, engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.exec_driver_sql("UPDATE actions SET quantity = 7 WHERE seq = 1")
    assert isinstance(translate(caught.value), ImmutableEventError)
    # ...so the superuser also disables them, edits, and switches them back on.
    with triggers_off(journal, replica=True) as conn:
        conn.exec_driver_sql("UPDATE actions SET quantity = 7 WHERE seq = 1")
    place = broken(journal)
    assert (place.what, place.batch_id) == ("hash mismatch", 1)


def test_verify_command(journal: Ledger, cli, tmp_path: Path) -> None:
    digest_path = tmp_path / "head.json"
    cli("digest", "--output", str(digest_path))
    pinned = json.loads(digest_path.read_text())
    assert (pinned["batch_id"], pinned["last_seq"]) == (3, 16)
    assert pinned["hash"] == journal.digest().hash
    assert json.loads(cli("digest").stdout)["hash"] == pinned["hash"]
    ok = cli("verify", "--digest", str(digest_path))
    assert "journal verified: 3 batches, 16 events" in ok.stdout

    tamper(journal, "DELETE FROM actions WHERE seq = 7")
    failed = cli("verify", ok=False)
    assert failed.exit_code == 1
    lines = failed.stderr.strip().splitlines()
    assert lines == ["error: journal broken: batch 1, seq 7: missing event: no event has seq 7 (batch 1 covers 1..10)"]
    assert "Traceback" not in failed.output


def test_verify_refuses_a_file_that_is_not_a_digest(journal: Ledger, cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"batch_id": "x"}')
    result = cli("verify", "--digest", str(bad), ok=False)
    assert result.exit_code == 1
    assert "not a digest" in result.stderr
    missing = cli("verify", "--digest", str(tmp_path / "nope.json"), ok=False)
    assert missing.exit_code == 1 and "nope.json" in missing.stderr


def test_digest_refuses_to_pin_a_broken_journal(journal: Ledger, cli) -> None:
    tamper(journal, "UPDATE actions SET quantity = 3 WHERE seq = 1")
    with pytest.raises(JournalBroken):
        journal.digest()
    result = cli("digest", ok=False)
    assert result.exit_code == 1 and "journal broken: batch 1" in result.stderr
    assert result.stdout == ""


def test_a_digest_gives_its_times_in_utc_with_z_and_older_digests_still_verify(journal: Ledger, cli, tmp_path: Path) -> None:
    digest_path = tmp_path / "head.json"
    cli("digest", "--output", str(digest_path))
    pinned = json.loads(digest_path.read_text())
    for field in ("recorded_at", "taken_at"):
        assert pinned[field].endswith("Z"), pinned
        assert datetime.fromisoformat(pinned[field]).utcoffset() == timedelta(0)
    ok = cli("verify", "--digest", str(digest_path))
    assert re.search(r"\(taken \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)$", ok.stdout.strip()), ok.stdout
    # A digest written before times carried their zone names the same head.
    older = tmp_path / "older.json"
    older.write_text(json.dumps({**pinned, "recorded_at": pinned["recorded_at"][:-1], "taken_at": pinned["taken_at"][:-1]}))
    assert "contains the digest of batch 3" in cli("verify", "--digest", str(older)).stdout
    # Both spellings read as the same moments.
    assert JournalDigest.from_json(older.read_text(), "older") == JournalDigest.from_json(digest_path.read_text(), "pinned")
