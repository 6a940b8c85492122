"""`verify` compares indexes and table constraints with what the migrations create: a dropped
or altered unique key, or a type check taken off an SQLite table, is reported on both
backends; a bulk ingest and a full rebuild, which set indexes and keys aside and rebuild
them, leave nothing to report (issue 23)."""

from __future__ import annotations

import pytest

from ledger import Ledger
from ledger.store import bulk_indexes
from ledger.store.sqlite_rebuild import rebuild_tables, table_definition, without_constraints
from tests.tampering import tamper
from tests.test_ingest_fast_paths import rows
from tests.test_verify import broken, journal  # noqa: F401 - the fixture

# The source keys' unique key made an ordinary index under the same name.
NOT_UNIQUE = {
    "sqlite": [
        "DROP INDEX uq_actions_source_key_ledger",
        "CREATE INDEX uq_actions_source_key_ledger ON actions (source_key, ledger_id)",
    ],
    "postgresql": [
        "ALTER TABLE actions DROP CONSTRAINT uq_actions_source_key_ledger",
        "CREATE INDEX uq_actions_source_key_ledger ON actions (source_key, ledger_id)",
    ],
}


def test_a_source_key_index_that_is_no_longer_unique_is_reported(journal: Ledger) -> None:  # noqa: F811
    tamper(journal, *NOT_UNIQUE[journal.engine.dialect.name])
    place = broken(journal)
    assert place.what == "schema objects changed"
    assert "index actions.uq_actions_source_key_ledger differs from what the migrations create" in place.detail


def test_a_dropped_index_is_reported(journal: Ledger) -> None:  # noqa: F811
    tamper(journal, "DROP INDEX ix_actions_replay")
    assert "index actions.ix_actions_replay is missing" in broken(journal).detail


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_dropped_or_weakened_constraint_is_reported(journal: Ledger) -> None:  # noqa: F811
    tamper(journal, "ALTER TABLE schedule_rules DROP CONSTRAINT schedule_rules_version_seq_fkey")
    assert "constraint schedule_rules.schedule_rules_version_seq_fkey is missing" in broken(journal).detail


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_foreign_key_left_unenforced_is_reported(journal: Ledger) -> None:  # noqa: F811
    with journal.engine.connect() as conn:
        enforcing = conn.exec_driver_sql(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = CAST('schedule_rules' AS regclass) AND tgconstraint = "
            "(SELECT oid FROM pg_constraint WHERE conname = 'schedule_rules_version_seq_fkey') ORDER BY tgname LIMIT 1"
        ).scalar_one()
    with journal.engine.begin() as conn:
        conn.exec_driver_sql(f'ALTER TABLE schedule_rules DISABLE TRIGGER "{enforcing}"')
    detail = broken(journal).detail
    assert "constraint schedule_rules.schedule_rules_version_seq_fkey differs" in detail
    assert "trigger" not in detail  # the append-only triggers are untouched


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_check_constraint_made_not_valid_is_reported(journal: Ledger) -> None:  # noqa: F811
    journal.recalc()
    tamper(
        journal,
        "ALTER TABLE period_totals DROP CONSTRAINT ck_period_totals_period_months",
        "ALTER TABLE period_totals ADD CONSTRAINT ck_period_totals_period_months CHECK (period_months IN (1, 3, 12)) NOT VALID",
    )
    assert "constraint period_totals.ck_period_totals_period_months differs" in broken(journal).detail


@pytest.mark.parametrize("backend", ["sqlite"])
def test_type_checks_taken_off_a_table_are_reported(journal: Ledger) -> None:  # noqa: F811
    with journal.engine.begin() as conn:
        definition = table_definition(conn, "schedule_rules")
        constraint = next(line for line in definition.splitlines() if "ck_schedule_rules_value_type" in line).strip().rstrip(",")
        rebuild_tables(conn, {"schedule_rules": without_constraints(definition, [constraint])})
    assert "table schedule_rules differs from what the migrations create" in broken(journal).detail


def test_an_index_added_by_an_administrator_is_not_judged(journal: Ledger) -> None:  # noqa: F811
    with journal.engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_local_actions_by_action ON actions (action)")
    assert journal.verify().batches == 3


def test_a_bulk_ingest_and_a_full_rebuild_leave_nothing_to_report(book: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_indexes, "BULK_MIN_ROWS", 10)
    assert book.ingest_rows(rows(300)).new == 300
    book.recalc(full=True)
    assert book.ingest_rows(rows(600, prefix="more")).new == 600
    book.recalc(full=True)
    assert book.verify().events == 900
