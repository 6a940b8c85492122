"""Checking the schema objects that pricing and reads depend on, for `verify`.

Replacing the `replay_actions` view, adding a trigger on a projection, disabling an
append-only trigger or changing a column's type forges scores without touching a hashed
event, and dropping a unique key or a type check lets a forged row in. So `verify` compares
the database's views, triggers (and whether they are enabled), functions, rules, row-level
security policies, table columns, indexes and table constraints against a schema made
afresh at check time by the same migrations (and, on PostgreSQL, reports any function or
operator on the search path that shares a built-in's name over built-in types: with
`pg_catalog` put after its schema, it replaces the `*` or `sum` that pricing calls): on SQLite in a new in-memory database, on
PostgreSQL in a new schema inside a transaction that is rolled back. Nothing is stored, so
there is no fingerprint to forge; the migrations in the code that runs `verify` are the
reference.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine

from ledger.store import schema
from ledger.store.dialects import dialect_of
from ledger.store.engine import translate_errors

# (kind, name) -> definition, with the schema's own name taken out of the definitions.
# Triggers, rules and policies are named `table.name`.
Objects = dict[tuple[str, str], str]
ACTING = ("trigger", "rule", "policy")
# Functions and operators that take a built-in's place: never ours, always reported.
SHADOW = "built-in's namesake"


def schema_object_problem(engine: Engine) -> str | None:
    """What differs between the database's schema objects and a freshly migrated schema's
    (the first few differences, one line), or None when they agree."""
    with translate_errors():
        if dialect_of(engine).is_sqlite:
            with engine.connect() as conn:
                found = _sqlite_objects(conn)
            fresh = _fresh_sqlite_objects()
        else:
            with engine.connect() as conn:
                found = _postgres_objects(conn, conn.exec_driver_sql("SELECT current_schema()").scalar_one())
                found.update(_postgres_shadows(conn))
            fresh = _fresh_postgres_objects(engine)
    return _differences(found, fresh)


def _differences(found: Objects, fresh: Objects) -> str | None:
    """Objects the migrations create that are missing or differ, and objects they do not
    create that act on their tables (a trigger, rule or policy: other applications' tables,
    views and functions sharing the schema are not ours to judge)."""
    ours = {name for kind, name in fresh if kind == "table"}
    extra = {key for key in found if key not in fresh and key[0] in ACTING and key[1].split(".")[0] in ours}
    extra |= {key for key in found if key[0] == SHADOW}
    lines = []
    for key in sorted(set(fresh) | extra):
        kind, name = key
        if kind == SHADOW:
            lines.append(f"{name} shares a built-in's name and can replace it in pricing ({found[key]})")
        elif key not in fresh:
            lines.append(f"{kind} {name} is not one the migrations create")
        elif key not in found:
            lines.append(f"{kind} {name} is missing")
        elif found[key] != fresh[key]:
            lines.append(f"{kind} {name} differs from what the migrations create")
    if not lines:
        return None
    more = f" (and {len(lines) - 3} more)" if len(lines) > 3 else ""
    return "; ".join(lines[:3]) + more


def _sqlite_objects(conn: Connection) -> Objects:
    # A table's constraints are in its stored CREATE TABLE (and the indexes SQLite makes for
    # them, named sqlite_autoindex_*, follow from it); its named indexes are compared as such.
    rows = conn.exec_driver_sql(
        "SELECT type, CASE WHEN type IN ('trigger', 'index') THEN tbl_name || '.' || name ELSE name END, sql "
        "FROM sqlite_master WHERE type IN ('table', 'view', 'trigger', 'index') AND name NOT LIKE 'sqlite_%'"
    ).all()
    return {(kind, name): sql or "" for kind, name, sql in rows}


def _fresh_sqlite_objects() -> Objects:
    engine = create_engine("sqlite://")
    try:
        schema.upgrade(engine)
        with engine.connect() as conn:
            return _sqlite_objects(conn)
    finally:
        engine.dispose()


def _fresh_postgres_objects(engine: Engine) -> Objects:
    with engine.connect() as conn, _scratch_schema(conn) as name:
        config = Config()
        config.set_main_option("script_location", str(schema.MIGRATIONS))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        return _postgres_objects(conn, name)


@contextmanager
def _scratch_schema(conn: Connection) -> Iterator[str]:
    """A new, empty schema first on the search path, for the block; rolled back after."""
    name = f"scoreledger_reference_{secrets.token_hex(6)}"
    transaction = conn.begin()
    try:
        conn.exec_driver_sql(f"CREATE SCHEMA {name}")
        conn.exec_driver_sql(f"SET LOCAL search_path TO {name}")
        yield name
    finally:
        transaction.rollback()


def _postgres_shadows(conn: Connection) -> Objects:
    """Functions and operators outside pg_catalog, in a schema on the search path, named as a
    built-in one is and taking only built-in types: pricing's unqualified `*`, `sum` or
    `floor` resolves to them when the search path names pg_catalog after their schema, or
    when their argument types match more closely. Other applications' functions over their
    own types, and extensions' members, are not judged."""
    queries = (
        "SELECT 'function ' || n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', "
        "current_setting('search_path') "
        "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = ANY (current_schemas(false)) AND n.nspname <> 'pg_catalog' "
        "AND EXISTS (SELECT 1 FROM pg_proc b WHERE b.pronamespace = CAST('pg_catalog' AS regnamespace) AND b.proname = p.proname) "
        "AND NOT EXISTS (SELECT 1 FROM unnest(CAST(p.proargtypes AS oid[])) AS a(oid) JOIN pg_type y ON y.oid = a.oid "
        "WHERE y.typnamespace <> CAST('pg_catalog' AS regnamespace)) "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = p.oid AND e.deptype = 'e')",
        "SELECT 'operator ' || n.nspname || '.' || o.oprname || '(' || format_type(o.oprleft, NULL) || ', ' "
        "|| format_type(o.oprright, NULL) || ')', current_setting('search_path') "
        "FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace "
        "WHERE n.nspname = ANY (current_schemas(false)) AND n.nspname <> 'pg_catalog' "
        "AND NOT EXISTS (SELECT 1 FROM pg_type y WHERE y.oid IN (o.oprleft, o.oprright) "
        "AND y.typnamespace <> CAST('pg_catalog' AS regnamespace)) "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = o.oid AND e.deptype = 'e')",
    )
    objects: Objects = {}
    for query in queries:
        for name, search_path in conn.exec_driver_sql(query).all():
            objects[(SHADOW, name)] = f"search_path {search_path}"
    return objects


def _postgres_objects(conn: Connection, name: str) -> Objects:
    """Definitions in schema `name`, its own name taken out so two schemas compare."""
    queries = {
        "view": "SELECT viewname, definition FROM pg_views WHERE schemaname = %(s)s",
        "trigger": (
            "SELECT c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid) || ' enabled=' || CAST(t.tgenabled AS text) "
            "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            # A trigger cloned from a partitioned table's own (tgparentid) is listed as that one.
            "WHERE n.nspname = %(s)s AND NOT t.tgisinternal AND t.tgparentid = 0"
        ),
        "function": (
            "SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', pg_get_functiondef(p.oid) "
            "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %(s)s "
            "AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = p.oid AND e.deptype = 'e')"
        ),
        "rule": "SELECT tablename || '.' || rulename, definition FROM pg_rules WHERE schemaname = %(s)s",
        # Whether an index still enforces uniqueness and is used is in its definition and flags.
        "index": (
            "SELECT t.relname || '.' || c.relname, pg_get_indexdef(i.indexrelid) || ' valid=' || CAST(i.indisvalid AS text) "
            "|| ' ready=' || CAST(i.indisready AS text) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = %(s)s"
        ),
        # A foreign key is enforced by internal triggers, which can be disabled on their own.
        "constraint": (
            "SELECT t.relname || '.' || k.conname, CAST(k.contype AS text) || ' ' || pg_get_constraintdef(k.oid) "
            "|| ' validated=' || CAST(k.convalidated AS text) || coalesce(' triggers=' || (SELECT string_agg(DISTINCT "
            "CAST(g.tgenabled AS text), '') FROM pg_trigger g WHERE g.tgconstraint = k.oid), '') "
            "FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE n.nspname = %(s)s"
        ),
        "policy": (
            "SELECT tablename || '.' || policyname, coalesce(qual, '') || ' ' || coalesce(with_check, '') "
            "FROM pg_policies WHERE schemaname = %(s)s"
        ),
        "table": (
            "SELECT c.relname, CAST(c.relkind AS text) || ' rls=' || CAST(c.relrowsecurity AS text) || ' ' || string_agg("
            "a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END "
            "|| coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), ''), ', ' ORDER BY a.attnum) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
            "LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum "
            "WHERE n.nspname = %(s)s AND c.relkind IN ('r', 'p') AND c.relname <> 'replay_rebuilt' "
            "AND c.relname NOT LIKE 'replay\\_rebuilt\\_%%' GROUP BY c.relname, c.relkind, c.relrowsecurity"
        ),
    }
    objects: Objects = {}
    qualified = f"{name}."
    roots = _partition_roots(conn, name)
    for kind, query in queries.items():
        for key, definition in conn.exec_driver_sql(query, {"s": name}).all():
            if kind in ACTING:
                # What acts on a part of a table (daily_scores' parts) acts on the table.
                table, _, acting = key.partition(".")
                key = f"{roots.get(table, table)}.{acting}"
            objects[(kind, key)] = (definition or "").replace(qualified, "")
    return objects


def _partition_roots(conn: Connection, name: str) -> dict[str, str]:
    """Each partition in schema `name`, with the partitioned table it is a part of."""
    rows = conn.exec_driver_sql(
        "SELECT c.relname, r.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_class r ON r.oid = pg_partition_root(c.oid) WHERE n.nspname = %(s)s AND c.relispartition",
        {"s": name},
    ).all()
    return dict(rows)
