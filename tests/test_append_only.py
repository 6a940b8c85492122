"""Invariant 1: event tables are append-only, enforced by the database itself."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ledger import Ledger
from ledger.errors import ImmutableEventError
from ledger.store.engine import open_engine, translate
from tests.factories import action_row, csv_text


@pytest.fixture
def recorded(book: Ledger, tmp_path, backend) -> Ledger:
    path = tmp_path / "a.csv"
    path.write_text(csv_text([action_row("a1", user=7, quantity=2), action_row("a2", user=8)]))
    book.ingest_file(str(path))
    from datetime import date

    from ledger import Rule

    book.set_schedule(date(2024, 1, 1), {"likes_received": Rule(value=3)}, retroactive=True)
    return book


def refused(book: Ledger, sql: str) -> ImmutableEventError:
    engine = open_engine(str(book.engine.url.render_as_string(hide_password=False)))
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    except DBAPIError as exc:
        error = translate(exc)
        assert isinstance(error, ImmutableEventError), f"{sql!r} failed for another reason: {exc}"
        return error
    finally:
        engine.dispose()
    pytest.fail(f"the database accepted {sql!r}")


def test_update_is_refused_on_every_event_table(recorded: Ledger) -> None:
    refused(recorded, "UPDATE actions SET quantity = 99 WHERE source_key = 'a1'")
    refused(recorded, "UPDATE batches SET hash = 'x'")
    refused(recorded, "UPDATE schedule_versions SET reason = 'edited'")
    refused(recorded, "UPDATE schedule_rules SET value = 100")


def test_delete_is_refused(recorded: Ledger) -> None:
    refused(recorded, "DELETE FROM actions")
    refused(recorded, "DELETE FROM schedule_versions")
    refused(recorded, "DELETE FROM schedule_rules")
    refused(recorded, "DELETE FROM batches")


def test_upsert_cannot_overwrite(recorded: Ledger) -> None:
    error = refused(
        recorded,
        "INSERT INTO actions (seq, batch_id, ledger, ledger_id, source_key, user_id, action, occurred_at, day, "
        "quantity, attributes, recorded_at) VALUES (1, 1, 'default', 1, 'a1', 7, 'likes_received', "
        "'2024-05-01 12:00:00.000000', '2024-05-01', 500, '{}', '2024-05-01 12:00:00.000000') "
        "ON CONFLICT (seq) DO UPDATE SET quantity = excluded.quantity",
    )
    assert "actions" in str(error)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sqlite_insert_or_replace_is_refused(recorded: Ledger) -> None:
    refused(
        recorded,
        "INSERT OR REPLACE INTO actions (seq, batch_id, ledger, ledger_id, source_key, user_id, action, "
        "occurred_at, day, quantity, attributes, recorded_at) VALUES (1, 1, 'default', 1, 'a1', 7, "
        "'likes_received', '2024-05-01 12:00:00.000000', '2024-05-01', 500, '{}', "
        "'2024-05-01 12:00:00.000000')",
    )


@pytest.mark.parametrize("backend", ["postgresql"])
def test_postgres_truncate_is_refused_even_in_replica_mode(recorded: Ledger) -> None:
    refused(recorded, "TRUNCATE actions")
    refused(recorded, "TRUNCATE batches CASCADE")
    # Triggers enabled ALWAYS still fire when replication mode would silence ordinary ones.
    refused(recorded, "SET LOCAL session_replication_role = replica; DELETE FROM actions")


def test_nothing_changed_after_refusals(recorded: Ledger) -> None:
    for sql in ("UPDATE actions SET quantity = 99", "DELETE FROM actions"):
        refused(recorded, sql)
    with recorded.engine.connect() as conn:
        rows = conn.execute(text("SELECT source_key, quantity FROM actions ORDER BY seq")).all()
    assert [tuple(row) for row in rows] == [("a1", 2), ("a2", 1)]
