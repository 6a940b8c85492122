"""Rebuilding SQLite tables under a new definition, inside the caller's transaction.

SQLite cannot add or drop a table constraint in place. So each table is renamed aside,
created again under its own name from its new definition, refilled from the old one, and the
old one dropped. Its indexes, and every trigger and view of the database (a rename rewrites
the triggers and views that name the table), are made again from their stored SQL exactly as
they were: the append-only guards among them.

Every table is renamed aside before any is created again, so that a foreign key between two
of them (schedule_rules -> schedule_versions) ends up naming the new table, and the old
tables are dropped children first, with no rows left referring to them.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection

from ledger.errors import StoreError

ASIDE = "_before_rebuild"


def table_definition(conn: Connection, table: str) -> str:
    """The CREATE TABLE statement SQLite stores for `table`."""
    return str(conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar_one())


def with_constraints(definition: str, constraints: list[str]) -> str:
    """`definition` (a CREATE TABLE statement) with `constraints` appended to its table
    constraints, spelled as SQLAlchemy spells them."""
    end = _body_end(definition)
    return definition[:end] + _addition(constraints) + definition[end:]


def without_constraints(definition: str, constraints: list[str]) -> str:
    """`definition` as it was before `with_constraints(..., constraints)`."""
    addition = _addition(constraints)
    if definition.count(addition) != 1:
        raise StoreError("the table's stored definition does not end with the constraints to remove")
    return definition.replace(addition, "", 1)


def _addition(constraints: list[str]) -> str:
    return "".join(f", \n\t{constraint}" for constraint in constraints)


def _body_end(definition: str) -> int:
    """Where the last column or constraint of a CREATE TABLE statement ends: before the
    whitespace and closing parenthesis that follow it (WITHOUT ROWID comes after)."""
    close = definition.rindex(")")
    return len(definition[:close].rstrip())


def rebuild_tables(conn: Connection, definitions: Mapping[str, str]) -> None:
    """Give each table of `definitions` (name -> CREATE TABLE statement under that name,
    with the same columns in the same order) its new definition, rows, indexes, triggers and
    views kept. Name parents before their children."""
    tables = list(definitions)
    _refuse_outside_references(conn, tables)
    indexes = _stored(conn, "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN", tables)
    analyzed = _analyzed(conn, tables)
    triggers = _stored_objects(conn, "trigger")
    views = _stored_objects(conn, "view")
    for name, _ in triggers:
        conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    for name, _ in views:
        conn.exec_driver_sql(f'DROP VIEW "{name}"')
    for table in tables:
        conn.exec_driver_sql(f'ALTER TABLE "{table}" RENAME TO "{table}{ASIDE}"')
    for table in tables:
        conn.exec_driver_sql(definitions[table])
        columns = ", ".join(f'"{column}"' for column in _columns(conn, table))
        conn.exec_driver_sql(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM "{table}{ASIDE}"')
    for table in reversed(tables):
        conn.exec_driver_sql(f'DROP TABLE "{table}{ASIDE}"')
    for statement in [*indexes, *(sql for _, sql in triggers), *(sql for _, sql in views)]:
        conn.exec_driver_sql(statement)
    # Dropping a table drops its planner statistics: someone ran ANALYZE for a reason.
    for table in analyzed:
        conn.exec_driver_sql(f'ANALYZE "{table}"')


def _analyzed(conn: Connection, tables: list[str]) -> list[str]:
    """Those of `tables` that have planner statistics (sqlite_stat1 rows)."""
    if conn.exec_driver_sql("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").scalar_one() == 0:
        return []
    return [table for table in tables if conn.exec_driver_sql("SELECT 1 FROM sqlite_stat1 WHERE tbl = ? LIMIT 1", (table,)).first()]


def _refuse_outside_references(conn: Connection, tables: list[str]) -> None:
    """A foreign key from a table not rebuilt would follow the rename to the old table."""
    others = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").scalars().all()
    for other in others:
        if other in tables:
            continue
        referenced = conn.exec_driver_sql('SELECT "table" FROM pragma_foreign_key_list(?)', (other,)).scalars().all()
        if set(referenced) & set(tables):
            raise StoreError(f"table {other} refers to a table being rebuilt; rebuild it too")


def _stored(conn: Connection, query: str, tables: list[str]) -> list[str]:
    marks = ", ".join("?" for _ in tables)
    return [str(sql) for sql in conn.exec_driver_sql(f"{query} ({marks}) ORDER BY rowid", tuple(tables)).scalars()]


def _stored_objects(conn: Connection, kind: str) -> list[tuple[str, str]]:
    rows = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = ? ORDER BY rowid", (kind,)).all()
    return [(str(name), str(sql)) for name, sql in rows]


def _columns(conn: Connection, table: str) -> list[str]:
    return [str(name) for name in conn.exec_driver_sql("SELECT name FROM pragma_table_info(?) ORDER BY cid", (table,)).scalars()]
