"""`verify` reads every stored value strictly and checks the schema objects that price, and a
digest that names no batch proves nothing (issue 23)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from ledger import Ledger
from ledger.errors import InvalidInput, JournalBroken
from ledger.verify import JournalBreak, JournalDigest
from tests.tampering import tamper
from tests.test_verify import broken, journal  # noqa: F401 - the fixture

FORGED_VIEW = {
    "sqlite": "CREATE VIEW replay_actions AS SELECT seq, ledger, ledger_id, source_key, user_id, action, occurred_at, "
    "day, quantity * 10 AS quantity, attributes, attributes AS attributes_json, recorded_at FROM actions",
    "postgresql": "CREATE VIEW replay_actions AS SELECT seq, ledger, ledger_id, source_key, user_id, action, occurred_at, "
    "day, quantity * 10 AS quantity, attributes, attributes::json AS attributes_json, recorded_at FROM actions",
}


def _digest(journal: Ledger, tmp_path: Path, **fields: object) -> Path:  # noqa: F811
    document = json.loads(journal.digest().to_json())
    document.update(fields)
    path = tmp_path / "digest.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize("batch_id", [0, -1])
def test_a_digest_that_names_no_batch_is_refused(journal: Ledger, cli, tmp_path: Path, batch_id: int) -> None:  # noqa: F811
    path = _digest(journal, tmp_path, batch_id=batch_id, last_seq=batch_id, hash="0" * 64)
    with pytest.raises(InvalidInput) as caught:
        JournalDigest.from_json(path.read_text(), str(path))
    assert "names no batch" in str(caught.value.problems[0])
    result = cli("verify", "--digest", str(path), ok=False)
    assert result.exit_code == 1
    assert "names no batch" in result.stderr
    assert "contains the digest" not in result.stdout


def test_a_digest_with_a_malformed_hash_is_refused(journal: Ledger, tmp_path: Path) -> None:  # noqa: F811
    path = _digest(journal, tmp_path, hash="not-a-hash")
    with pytest.raises(InvalidInput) as caught:
        JournalDigest.from_json(path.read_text(), str(path))
    assert "hexadecimal" in str(caught.value.problems[0])


def _sqlite_path(book: Ledger) -> str:
    return str(make_url(book.engine.url).database)


def _raw_sqlite(book: Ledger, *statements: str) -> None:
    """Write the SQLite file as its owner can: triggers dropped, foreign keys off."""
    book.engine.dispose()
    connection = sqlite3.connect(_sqlite_path(book))
    try:
        connection.execute("PRAGMA foreign_keys = OFF")
        for statement in statements:
            connection.execute(statement)
        connection.commit()
    finally:
        connection.close()


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(
    ("statement", "column"),
    [
        ("UPDATE schedule_rules SET value = '0_60' WHERE action = 'likes_received'", "schedule_rules.value"),
        ("UPDATE actions SET quantity = '0_1' WHERE seq = 2", "actions.quantity"),
        ("UPDATE actions SET user_id = 1.5 WHERE seq = 2", "actions.user_id"),
        ("UPDATE actions SET recorded_at = replace(recorded_at, ' ', 'T') WHERE seq = 2", "actions.recorded_at"),
        ("UPDATE batches SET recorded_at = substr(recorded_at, 1, 16) WHERE batch_id = 3", "batches.recorded_at"),
        ("UPDATE schedule_versions SET recorded_at = replace(recorded_at, ' ', 'T')", "schedule_versions.recorded_at"),
        ("UPDATE actions SET occurred_at = replace(occurred_at, ' ', 'T') WHERE seq = 2", "actions.occurred_at"),
        ("UPDATE schedule_versions SET retroactive = 2", "schedule_versions.retroactive"),
    ],
)
def test_a_value_stored_in_another_type_or_spelling_is_a_break(journal: Ledger, statement: str, column: str) -> None:  # noqa: F811
    # The tables refuse such values (tests/test_sqlite_typed_tables.py); the file's owner can
    # switch that off.
    tamper(journal, "PRAGMA ignore_check_constraints = ON", statement)
    place = broken(journal)
    assert place.what == "stored value"
    assert place.detail.startswith(column)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_the_server_refuses_another_type_itself(journal: Ledger) -> None:  # noqa: F811
    # SQLite stores any type: verify reads it strictly instead (the test above).
    with pytest.raises(Exception, match="invalid input syntax"):
        tamper(journal, "UPDATE schedule_rules SET value = '0_60' WHERE action = 'likes_received'")


def test_extra_keys_in_a_stored_level_curve_are_reported(journal: Ledger) -> None:  # noqa: F811
    tamper(journal, """UPDATE schedule_versions SET levels = '{"coefficient":50,"kind":"quadratic","bonus":1}'""")
    place = broken(journal)
    assert (place.what, place.seq) == ("stored value", 11)
    assert "bonus" in place.detail


def test_a_level_curve_in_another_spelling_is_reported(journal: Ledger) -> None:  # noqa: F811
    tamper(journal, """UPDATE schedule_versions SET levels = '{"kind": "quadratic", "coefficient": 50}'""")
    assert broken(journal).what == "stored value"


def test_rules_naming_no_version_are_reported(journal: Ledger) -> None:  # noqa: F811
    statement = "INSERT INTO schedule_rules (version_seq, action, value) VALUES (999, 'likes_received', 5)"
    if journal.engine.dialect.name == "sqlite":
        _raw_sqlite(journal, statement)
    else:
        tamper(journal, statement)  # triggers off: the foreign key's too
    place = broken(journal)
    assert (place.what, place.seq) == ("stray rows", 999)
    assert place.detail.startswith("schedule_rules")


def test_a_replaced_pricing_view_is_reported(journal: Ledger) -> None:  # noqa: F811
    dialect = journal.engine.dialect.name
    tamper(journal, "DROP VIEW replay_actions", FORGED_VIEW[dialect])
    with pytest.raises(JournalBroken) as caught:
        journal.verify()
    place = caught.value.place
    assert isinstance(place, JournalBreak)
    assert place.what == "schema objects changed"
    assert "view replay_actions differs" in place.detail


def test_a_trigger_added_on_a_projection_is_reported(journal: Ledger) -> None:  # noqa: F811
    if journal.engine.dialect.name == "sqlite":
        statements = [
            "CREATE TRIGGER boost AFTER INSERT ON user_totals BEGIN UPDATE user_totals SET points = points * 2 "
            "WHERE ledger_id = NEW.ledger_id AND user_id = NEW.user_id; END"
        ]
    else:
        statements = [
            "CREATE FUNCTION boost() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.points := NEW.points * 2; RETURN NEW; END $$",
            "CREATE TRIGGER boost BEFORE INSERT ON user_totals FOR EACH ROW EXECUTE FUNCTION boost()",
        ]
    tamper(journal, *statements)
    with pytest.raises(JournalBroken, match="trigger user_totals.boost is not one the migrations create"):
        journal.verify()


def test_a_disabled_append_only_trigger_is_reported(journal: Ledger) -> None:  # noqa: F811
    if journal.engine.dialect.name == "sqlite":
        statement = "DROP TRIGGER actions_no_update"
    else:
        statement = "ALTER TABLE actions DISABLE TRIGGER actions_append_only"
    with journal.engine.begin() as conn:
        conn.exec_driver_sql(statement)
    with pytest.raises(JournalBroken, match="trigger actions.actions_"):
        journal.verify()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_an_operator_or_function_replacing_a_built_in_is_reported(journal: Ledger) -> None:  # noqa: F811
    # SQLite keeps no functions or operators in the database: nothing there to replace.
    with journal.engine.begin() as conn:
        database = conn.exec_driver_sql("SELECT current_database()").scalar_one()
        conn.exec_driver_sql(
            "CREATE FUNCTION public.times_ten(bigint, bigint) RETURNS bigint LANGUAGE sql IMMUTABLE "
            "AS 'SELECT pg_catalog.int8mul(pg_catalog.int8mul($1, $2), 10)'"
        )
        conn.exec_driver_sql("CREATE OPERATOR public.* (leftarg = bigint, rightarg = bigint, function = public.times_ten)")
        conn.exec_driver_sql("CREATE FUNCTION public.floor(bigint) RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint'")
        conn.exec_driver_sql(f'ALTER DATABASE "{database}" SET search_path = public, pg_catalog')
    forged = Ledger.open(journal.engine.url.render_as_string(hide_password=False))
    try:
        before = {row.user_id: row.points for row in journal.scores()}
        forged.recalc(full=True)
        assert {row.user_id: row.points for row in forged.scores()} == {user: points * 10 for user, points in before.items()}
        with pytest.raises(JournalBroken) as caught:
            forged.verify()
    finally:
        forged.engine.dispose()
    place = caught.value.place
    assert isinstance(place, JournalBreak)
    detail = place.detail
    assert "operator public.*(bigint, bigint) shares a built-in's name" in detail
    assert "function public.floor(bigint) shares a built-in's name" in detail


def test_schema_objects_of_other_applications_are_not_judged(journal: Ledger) -> None:  # noqa: F811
    with journal.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE forum_posts (id INTEGER PRIMARY KEY, body TEXT)")
        conn.exec_driver_sql("CREATE VIEW forum_view AS SELECT id FROM forum_posts")
    assert journal.verify().batches == 3


def test_an_empty_journal_gives_no_digest(book: Ledger, cli) -> None:
    with pytest.raises(InvalidInput) as caught:
        book.digest()
    assert "journal is empty" in str(caught.value.problems[0])
    result = cli("digest", ok=False)
    assert result.exit_code == 1 and "journal is empty" in result.stderr and result.stdout == ""
    assert "nothing was written" not in result.stderr
