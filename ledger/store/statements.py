"""Running the named statements of sql/ on a connection."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, CursorResult, Date, DateTime, bindparam

from ledger.sqlfiles import statement
from ledger.store.dialects import dialect_of


def run(conn: Connection, name: str, **params: Any) -> CursorResult:
    """Execute named statement `name` (sql/) with `params`, dates and times typed so that
    SQLite compares them in its stored text spelling, and collections (lists, sets) bound as
    an expanding `IN :name` list."""
    clause = statement(name, dialect_of(conn).name)
    typed = [
        bindparam(key, type_=DateTime() if isinstance(value, datetime) else Date())
        for key, value in params.items()
        if isinstance(value, date)
    ]
    typed += [bindparam(key, expanding=True) for key, value in params.items() if isinstance(value, (list, tuple, set, frozenset))]
    params = {key: list(value) if isinstance(value, (set, frozenset)) else value for key, value in params.items()}
    if typed:
        clause = clause.bindparams(*typed)
    return conn.execute(clause, params)
