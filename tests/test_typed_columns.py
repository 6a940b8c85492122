"""SQLite CHECK constraints that refuse values of another type, for new tables (issue 23)."""

from __future__ import annotations

import pytest
from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, Engine, MetaData, String, Table, create_engine, insert
from sqlalchemy.exc import IntegrityError

from ledger.store.typed_columns import sqlite_type_checks


def _table() -> tuple[Table, Engine]:
    metadata = MetaData()
    table = Table(
        "typed",
        metadata,
        Column("points", BigInteger, nullable=False),
        Column("name", String(10), nullable=True),
        Column("day", Date, nullable=False),
        Column("at", DateTime, nullable=False),
        Column("flag", Boolean, nullable=False),
        *sqlite_type_checks("typed", nullable=("name",), points=BigInteger, name=String, day=Date, at=DateTime, flag=Boolean),
    )
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    return table, engine


GOOD = {"points": 5, "name": None, "day": "2024-05-01", "at": "2024-05-01 10:00:00.000000", "flag": 1}


def test_values_of_their_own_type_are_stored() -> None:
    table, engine = _table()
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO typed VALUES (:points, :name, :day, :at, :flag)", GOOD)


@pytest.mark.parametrize(
    "change",
    [{"points": "0_60"}, {"points": 1.5}, {"name": b"\x00"}, {"day": "2024-5-1"}, {"at": "2024-05-01T10:00"}, {"flag": 2}],
)
def test_values_of_another_type_are_refused(change: dict) -> None:
    table, engine = _table()
    with pytest.raises(IntegrityError, match="CHECK"), engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO typed VALUES (:points, :name, :day, :at, :flag)", {**GOOD, **change})


def test_the_checks_are_not_emitted_on_postgresql() -> None:
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateTable

    table, _ = _table()
    assert "typeof" not in str(CreateTable(table).compile(dialect=postgresql.dialect()))
    assert insert(table) is not None
