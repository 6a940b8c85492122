"""Driver errors become ledger errors by their class (psycopg, SQLSTATE) or result code
(sqlite3), not by their wording (issue 22)."""

from __future__ import annotations

import sqlite3

import pytest
from psycopg import errors as pg

from ledger.errors import DatabaseUnavailable, ImmutableEventError, NotInitialized, StoreError
from ledger.store.engine import translate


@pytest.mark.parametrize(
    ("error", "kind", "words"),
    [
        (pg.RaiseException("scoreledger: actions is append-only; UPDATE refused"), ImmutableEventError, "append-only"),
        (pg.UndefinedTable('relation "batches" does not exist'), NotInitialized, "scoreledger init"),
        (pg.AdminShutdown("terminating connection due to administrator command"), DatabaseUnavailable, "lost the connection"),
        (pg.CrashShutdown("the server crashed"), DatabaseUnavailable, "lost the connection"),
        # Words that once chose the translation, under a class that means something else.
        (pg.UndefinedFunction("function f() does not exist; connection refused"), StoreError, "function f()"),
        (pg.SyntaxError("database is locked: no such table: x"), StoreError, "database is locked"),
    ],
)
def test_postgresql_errors_by_class(error: Exception, kind: type, words: str) -> None:
    translated = translate(error)
    assert type(translated) is kind
    assert words in str(translated)


def _sqlite(message: str, code_name: str) -> sqlite3.Error:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorname = code_name  # what sqlite3 sets on the errors it raises
    return error


def test_sqlite_errors_by_result_code() -> None:
    assert type(translate(_sqlite("x is append-only", "SQLITE_CONSTRAINT_TRIGGER"))) is ImmutableEventError
    assert "run it again" in str(translate(_sqlite("database is locked", "SQLITE_BUSY")))
    assert "run it again" in str(translate(_sqlite("database table is locked", "SQLITE_LOCKED_SHAREDCACHE")))
    assert type(translate(_sqlite("no such table: batches", "SQLITE_ERROR"))) is NotInitialized
    # The same words under other codes are other errors.
    assert type(translate(_sqlite("x is append-only", "SQLITE_CONSTRAINT_CHECK"))) is StoreError
    assert "run it again" not in str(translate(_sqlite("database is locked", "SQLITE_ERROR")))


def test_a_real_sqlite_error_carries_the_code_translate_reads() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (a)")
    conn.execute("CREATE TRIGGER t_no_update BEFORE UPDATE ON t BEGIN SELECT RAISE(ABORT, 't is append-only'); END")
    conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.IntegrityError) as caught:
        conn.execute("UPDATE t SET a = 2")
    assert type(translate(caught.value)) is ImmutableEventError
    with pytest.raises(sqlite3.OperationalError) as missing:
        conn.execute("SELECT * FROM batches")
    assert type(translate(missing.value)) is NotInitialized
