"""SQLite columns that refuse values of another type, as PostgreSQL's do.

SQLite stores any value in any column (a BIGINT column keeps the text '0_60'), and the ledger
reads values in Python while SQL computes with the stored ones, so a mistyped value prices
one way and verifies another. `verify` reads every stored value strictly (ledger/
verify_storage.py), and the tables refuse such values outright with these CHECK
constraints (emitted on SQLite only; migration 0019 gave them to the older tables), as new
tables and columns must too:

    Table("adjustments", metadata, Column("points", BigInteger, nullable=False), ...,
          *sqlite_type_checks("adjustments", points=BigInteger))
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, DateTime, Integer, SmallInteger, String, Text

DIGIT = "[0-9]"
# How SQLAlchemy stores DATE and DATETIME on SQLite, which canonical bytes and SQL compare by.
DAY_PATTERN = f"{DIGIT * 4}-{DIGIT * 2}-{DIGIT * 2}"
TIME_PATTERN = f"{DAY_PATTERN} {DIGIT * 2}:{DIGIT * 2}:{DIGIT * 2}.{DIGIT * 6}"


def sqlite_type_check(column: str, kind: Any, *, nullable: bool = False) -> str:
    """The SQL condition that column `column` of SQLAlchemy type `kind` holds its own type
    (and, for times and days, the one spelling the ledger writes)."""
    kind = kind if isinstance(kind, type) else type(kind)
    if issubclass(kind, DateTime):
        condition = f"typeof({column}) = 'text' AND {column} GLOB '{TIME_PATTERN}'"
    elif issubclass(kind, Date):
        condition = f"typeof({column}) = 'text' AND {column} GLOB '{DAY_PATTERN}'"
    elif issubclass(kind, Boolean):
        condition = f"typeof({column}) = 'integer' AND {column} IN (0, 1)"
    elif issubclass(kind, BigInteger | Integer | SmallInteger):
        condition = f"typeof({column}) = 'integer'"
    elif issubclass(kind, String | Text):
        condition = f"typeof({column}) = 'text'"
    else:
        raise TypeError(f"no SQLite type check for {kind!r}")
    return f"{column} IS NULL OR ({condition})" if nullable else condition


def sqlite_type_checks(table: str, *, nullable: tuple[str, ...] = (), **columns: Any) -> list[CheckConstraint]:
    """CHECK constraints, emitted on SQLite only, that each of `columns` (name=type) holds its
    declared type; `nullable` names those that may be NULL."""
    return [
        CheckConstraint(sqlite_type_check(name, kind, nullable=name in nullable), name=f"ck_{table}_{name}_type").ddl_if(dialect="sqlite")
        for name, kind in columns.items()
    ]
