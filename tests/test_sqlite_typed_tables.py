"""On SQLite the journal's tables, the ledger numbers and the projections refuse a value of
another type written directly with SQL (migration 0019, issue 23), as PostgreSQL's columns
do; a ledger upgraded from an older revision ends with the same checks and its rows intact."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Engine, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from ledger import Ledger
from ledger.errors import ImmutableEventError
from ledger.store import schema
from ledger.store.engine import open_engine, translate
from ledger.store.schema import migrate
from ledger.store.sqlite_rebuild import table_definition
from ledger.store.tables import metadata
from tests.test_verify import journal  # noqa: F401 - the fixture

TYPED_TABLES = (
    "batches",
    "ledger_numbers",
    "actions",
    "schedule_versions",
    "schedule_rules",
    "schedule_rule_points",
    "daily_scores",
    "user_totals",
    "period_totals",
    "projection_state",
)

# The columns of actions that pricing reads, which its checks cover (migration 0019); verify
# reads the others strictly (tests/test_verify_strict.py).
PRICED_ACTION_COLUMNS = {"ledger_id", "user_id", "action", "day", "quantity", "attributes"}


def _another_type(column: Column) -> str:
    """A literal of another storage class than `column` holds, which SQLite's column affinity
    would not turn into the column's own."""
    kind = type(column.type).__name__
    return {"Boolean": "2", "String": "X'30'", "Text": "X'30'", "Date": "X'30'", "DateTime": "X'30'"}.get(kind, "'0_60'")


def _ledger_url(book: Ledger) -> str:
    return book.engine.url.render_as_string(hide_password=False)


def _refusal(url: str, table: str, column: str, value: str) -> str:
    """Why SQLite refuses `UPDATE table SET column = value` with the append-only guard off."""
    engine = open_engine(url)
    try:
        with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
            assert conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar_one() > 0, f"{table} holds no row to change"
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_update")
            conn.exec_driver_sql(f"UPDATE {table} SET {column} = {value}")
    finally:
        engine.dispose()
    return str(caught.value.orig)


@pytest.mark.parametrize("backend", ["sqlite"])  # PostgreSQL's columns refuse other types themselves
@pytest.mark.parametrize("table", TYPED_TABLES)
def test_a_value_of_another_type_written_with_sql_is_refused(journal: Ledger, table: str) -> None:  # noqa: F811
    journal.recalc()
    url = _ledger_url(journal)
    for column in metadata.tables[table].columns:
        if table == "actions" and column.name not in PRICED_ACTION_COLUMNS:
            continue
        reason = _refusal(url, table, column.name, _another_type(column))
        if reason == "datatype mismatch":
            # SQLite's own refusal, for a rowid column (INTEGER PRIMARY KEY).
            assert (table, column.name) == ("ledger_numbers", "number")
            continue
        assert reason.startswith("CHECK constraint failed"), (column.name, reason)
        assert column.name in reason, (column.name, reason)


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("batches", "recorded_at", "replace(recorded_at, ' ', 'T')"),
        ("schedule_versions", "effective_from", "'2024-1-1'"),
        ("projection_state", "updated_at", "substr(updated_at, 1, 16)"),
    ],
)
def test_a_day_or_time_in_another_spelling_is_refused(journal: Ledger, table: str, column: str, value: str) -> None:  # noqa: F811
    journal.recalc()
    reason = _refusal(_ledger_url(journal), table, column, value)
    assert reason == f"CHECK constraint failed: ck_{table}_{column}_type"


def _contents(engine: Engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {table: sorted(map(tuple, conn.execute(select(metadata.tables[table])).all()), key=repr) for table in TYPED_TABLES}


def _stored_objects(engine: Engine) -> set[tuple[str, str]]:
    with engine.connect() as conn:
        return {
            (kind, name)
            for kind, name in conn.exec_driver_sql("SELECT type, name FROM sqlite_master WHERE type IN ('index', 'trigger', 'view')")
        }


def test_an_older_ledger_gains_the_checks_with_its_rows_intact(journal: Ledger) -> None:  # noqa: F811
    journal.recalc()
    engine = journal.engine
    before = _contents(engine)
    sqlite = engine.dialect.name == "sqlite"
    objects = _stored_objects(engine) if sqlite else set()
    if sqlite:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE actions")
    with engine.begin() as conn:
        migrate(conn, "0014", down=True)
        if sqlite:
            assert "CHECK" not in table_definition(conn, "actions")
    schema.upgrade(engine)
    assert _contents(engine) == before
    if sqlite:
        assert _stored_objects(engine) == objects
        with engine.connect() as conn:
            assert "ck_actions_quantity_type" in table_definition(conn, "actions")
            # The statistics someone took are taken again.
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'actions'").scalar_one() > 0
        assert _refusal(_ledger_url(journal), "actions", "quantity", "'0_1'").startswith("CHECK constraint failed")
    # The append-only guards are back, and the schema is the one a new ledger gets.
    with pytest.raises(DBAPIError) as caught, engine.begin() as conn:
        conn.exec_driver_sql("UPDATE actions SET quantity = 2 WHERE seq = 1")
    assert isinstance(translate(caught.value), ImmutableEventError)
    assert journal.verify().events == 16


@pytest.mark.parametrize("backend", ["sqlite"])
def test_an_upgrade_over_a_value_of_another_type_changes_nothing(journal: Ledger) -> None:  # noqa: F811
    engine = journal.engine
    with engine.begin() as conn:
        migrate(conn, "0018", down=True)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER schedule_rules_no_update")
        conn.exec_driver_sql("UPDATE schedule_rules SET value = '0_60' WHERE action = 'likes_received'")
    with pytest.raises(Exception, match="ck_schedule_rules_value_type"):
        schema.upgrade(engine)
    with engine.connect() as conn:
        assert schema.current_revision(conn) == "0018"
        assert "CHECK (typeof(value)" not in table_definition(conn, "schedule_rules")
        assert conn.exec_driver_sql("SELECT value FROM schedule_rules WHERE action = 'likes_received'").scalar_one() == "0_60"
