"""Database triggers that make event tables append-only (docs/design.md invariant 1).

PostgreSQL: row triggers refuse UPDATE and DELETE, a statement trigger refuses TRUNCATE, and
all are enabled ALWAYS so `session_replication_role = replica` does not silence them.
SQLite: RAISE(ABORT) triggers on UPDATE and DELETE; with `recursive_triggers=ON` (set on every
connection) `INSERT OR REPLACE` fires the DELETE trigger too and is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ledger.store.engine import APPEND_ONLY_MARK

_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION scoreledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'scoreledger: % {APPEND_ONLY_MARK}; % refused', TG_TABLE_NAME, TG_OP;
END
$$
"""


def append_only_ddl(dialect: str, tables: Iterable[str]) -> list[str]:
    """The statements that protect `tables` on `dialect` ('postgresql' or 'sqlite')."""
    statements: list[str] = []
    if dialect == "postgresql":
        statements.append(_PG_FUNCTION)
        for table in tables:
            statements += [
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION scoreledger_refuse_change()",
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION scoreledger_refuse_change()",
                f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_append_only",
                f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate",
            ]
    elif dialect == "sqlite":
        for table in tables:
            for operation in ("UPDATE", "DELETE"):
                statements.append(
                    f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'scoreledger: {table} {APPEND_ONLY_MARK}; "
                    f"{operation} refused'); END"
                )
    else:
        raise ValueError(f"no append-only triggers for dialect {dialect!r}")
    return statements


def install_append_only(execute: Callable[[str], object], dialect: str, tables: Iterable[str]) -> None:
    """Run the trigger DDL through `execute` (an Alembic `op.execute` or a connection's)."""
    for statement in append_only_ddl(dialect, tables):
        execute(statement)
