"""Security checks over the code itself and over what the ledger prints and logs.

1. Every value reaches SQL as a bound parameter. Any string literal in ledger/ or cli/ that
   looks like a SQL statement and is built with f-strings, `%` or `+` may only interpolate
   identifiers from our own constants (UPPER_CASE names), integers made with int(), or the
   few loop variables listed below with the constant they range over. sql/*.sql uses only
   `:named` parameters.
2. Secrets never reach output or logs: a database password is redacted from every message,
   success or failure, and from log records.
"""

from __future__ import annotations

import ast
import logging
import re
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from cli.app import app
from ledger import Ledger
from ledger.errors import LedgerError
from ledger.sqlfiles import _NAME

REPO = Path(__file__).resolve().parent.parent
PYTHON_ROOTS = ("ledger", "cli")
# A literal that starts or contains a SQL statement (keywords in capitals, as we write SQL).
SQL_STATEMENT = re.compile(
    r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE (TEMP |UNIQUE )?(TABLE|INDEX|TRIGGER|DATABASE|VIEW)|"
    r"ALTER TABLE|DROP (TABLE|INDEX|TRIGGER|DATABASE)|COPY \w+|TRUNCATE|PRAGMA|SET LOCAL|ANALYZE|VALUES)\b"
)
CONSTANT = re.compile(r"^_?[A-Z][A-Z0-9_]*$")
# Interpolations that are identifiers from our own constants, each with where it comes from.
IDENTIFIERS_FROM_CONSTANTS = {
    ("ledger/store/append_only.py", "table"): "event table names: EVENT_TABLES in the migrations",
    ("ledger/store/append_only.py", "operation"): "the literal tuple ('UPDATE', 'DELETE')",
    ("ledger/store/append_only.py", "operation.lower()"): "the literal tuple ('UPDATE', 'DELETE')",
    ("ledger/pricing.py", "table"): "scratch table names: SCRATCH_TABLES",
    ("ledger/store/bulk_indexes.py", "table"): "a table name passed by the writer: the literal 'actions' or 'daily_scores'",
    ("ledger/rebuild.py", "snapshot"): "a snapshot id from pg_export_snapshot, matched against SNAPSHOT_ID first",
    (
        "ledger/store/engine.py",
        "', '.join(tables)",
    ): "table names passed by callers: the literals 'actions', 'daily_scores', 'user_totals', 'period_totals'",
    ("ledger/store/bulk_indexes.py", "name"): "index names read from the database's own catalog",
    ("ledger/store/sqlite_rebuild.py", "name"): "trigger names read from the database's own catalog",
    ("ledger/store/sqlite_rebuild.py", "table"): "table names passed by a migration: the keys of its literal TYPED",
    ("ledger/store/sqlite_rebuild.py", "columns"): "quoted column names read from the database's own catalog",
    ("ledger/store/bulk_indexes.py", "definition"): "index definitions read from the database's own catalog",
    ("ledger/store/migrations/versions/0002_projections.py", "attributes_json"): "one of two literal expressions, by dialect",
    ("ledger/store/migrations/versions/0014_keyed_chain.py", "check"): "a type check built from a literal column name and type",
    ("ledger/store/migrations/versions/0016_ledger_timezone.py", "check"): "a type check built from a literal column name and type",
    ("ledger/verify_schema.py", "name"): "a scratch schema name: a fixed prefix and secrets.token_hex",
    ("ledger/verify_storage.py", "table.name"): "names of the ledger's own tables, from its metadata",
    (
        "ledger/store/projection_parts.py",
        "name",
    ): "a part's name: a PartedTable's literal name, int() and a checked suffix, or a catalog name matched against that",
    ("ledger/store/projection_parts.py", "scratch"): "a scratch part's name: a PartedTable's literal scratch name and a checked suffix",
    ("ledger/store/projection_parts.py", "table.name"): "a PartedTable's literal name: daily_scores or period_totals",
    ("ledger/store/projection_parts.py", "table.scratch"): "a PartedTable's literal scratch name",
    ("ledger/store/projection_parts.py", "part.bounds"): "partition bounds: int()s, MINVALUE, MAXVALUE and _date (make_date over int()s)",
    ("ledger/store/projection_parts.py", "', '.join(fixed + low)"): "int()s, MINVALUE and _date (make_date over int()s)",
    ("ledger/store/projection_parts.py", "', '.join(fixed + high)"): "int()s, MAXVALUE and _date (make_date over int()s)",
    ("ledger/store/projection_parts.py", "part.within"): "comparisons of a PartedTable's literal columns with int()s and _date",
    ("ledger/store/projection_parts.py", "part.table.key"): "a PartedTable's literal key columns",
    ("ledger/store/projection_parts.py", "part.table.scratch"): "a PartedTable's literal scratch name",
    ("ledger/store/projection_parts.py", "part.scratch_name"): "a PartedTable's literal scratch name and a checked suffix",
    ("ledger/store/projection_parts.py", "table.storage"): "a PartedTable's literal storage parameters",
    ("ledger/store/projection_parts.py", "part.table.storage"): "a PartedTable's literal storage parameters",
    ("ledger/store/projection_parts.py", "table.columns"): "a PartedTable's literal column definitions",
    ("ledger/store/projection_parts.py", "table.partition_by"): "a PartedTable's literal partition key",
    ("ledger/store/projection_parts.py", "key"): "a PartedTable's literal key name and columns, or nothing",
    ("ledger/store/migrations/versions/0022_projections_in_parts.py", "table.name"): "a PartedTable's literal name",
    ("ledger/store/migrations/versions/0022_projections_in_parts.py", "table.key_name"): "a PartedTable's literal key name",
    ("ledger/store/migrations/versions/0022_projections_in_parts.py", "columns"): "the literal column lists of COLUMNS",
    ("ledger/store/dialects.py", "_identifier(name)"): "a table name checked against _IDENTIFIER",
    ("ledger/store/dialects.py", "_identifier(table)"): "a table name checked against _IDENTIFIER",
    ("ledger/store/dialects.py", "_identifiers(tables)"): "table names checked against _IDENTIFIER",
    ("ledger/store/dialects.py", "_setting(setting, value)"): "a setting from _SETTINGS, its value checked against _SETTING_VALUE",
    ("ledger/store/dialects.py", "_setting(setting)"): "a setting from _SETTINGS",
    ("ledger/verify_storage.py", "column_name"): "a column name of the ledger's own tables, from its metadata",
    ("ledger/verify_storage.py", "located"): "one of the literal column names seq, version_seq, batch_id",
    ("ledger/verify_storage.py", "which"): "CASE arms built from column names and literal storage classes and patterns",
    ("ledger/verify_storage.py", "_condition(column)"): "a check built from a column name and literal storage classes and patterns",
    ("ledger/verify_storage.py", "' AND '.join((condition for _, condition in conditions))"): "checks built by _condition",
    ("ledger/discourse/forum.py", "as_psycopg(query.text)"): "a shipped query's text (sql/discourse/), read as a subquery",
    ("ledger/discourse/explorer_query.py", "body"): "a shipped query's text (sql/discourse/), comments dropped",
    ("ledger/discourse/explorer_query.py", "key"): "one of the literals '0' and 'CAST(q.key AS bigint)'",
    ("ledger/discourse/explorer_query.py", "name"): "a shipped query's name, from the literal tuple READ_BY_IMPORT",
    ("ledger/discourse/explorer_query.py", "union"): "the branches built above from shipped queries",
}


def _literal_text(node: ast.AST) -> str:
    """The constant text parts of a string-building expression."""
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value for part in node.values if isinstance(part, ast.Constant) and isinstance(part.value, str))
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp):
        return _literal_text(node.left) + _literal_text(node.right)
    return ""


def _interpolated(node: ast.AST) -> list[ast.expr]:
    """The non-constant expressions spliced into a string-building expression."""
    if isinstance(node, ast.JoinedStr):
        return [part.value for part in node.values if isinstance(part, ast.FormattedValue)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        right = node.right
        return list(right.elts) if isinstance(right, ast.Tuple) else [right]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [side for side in (node.left, node.right) if not _is_text(side)] + [
            expr for side in (node.left, node.right) if _is_text(side) for expr in _interpolated(side)
        ]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return [*node.args, *(keyword.value for keyword in node.keywords)]
    return []


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr | ast.BinOp) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def _safe(expr: ast.expr, where: str) -> bool:
    if isinstance(expr, ast.Name | ast.Attribute):
        name = expr.id if isinstance(expr, ast.Name) else expr.attr
        if CONSTANT.match(name):
            return True
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "int":
        return True  # an int cannot carry SQL
    return (where, ast.unparse(expr)) in IDENTIFIERS_FROM_CONSTANTS


def sql_built_with_values(source: str, where: str) -> list[str]:
    """Every place in `source` where SQL text is built from something not known to be safe."""
    found: dict[tuple[int, str], str] = {}
    for node in ast.walk(ast.parse(source)):
        builds = (
            isinstance(node, ast.JoinedStr)
            or (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add) and _is_text(node.left))
            or (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format")
        )
        if not builds:
            continue
        text = _literal_text(node.func.value if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) else node)
        if not SQL_STATEMENT.search(text):
            continue
        for expr in _interpolated(node):
            if not _safe(expr, where):
                # A chain of `+` is visited once per link: report each splice once.
                found.setdefault(
                    (expr.lineno, ast.unparse(expr)),
                    f"{where}:{expr.lineno}: {ast.unparse(expr)!r} spliced into SQL {text[:60]!r}",
                )
    return list(found.values())


def test_the_checker_catches_values_spliced_into_sql() -> None:
    bad = """
def leak(conn, user_id, key, column):
    conn.execute(text(f"SELECT * FROM actions WHERE user_id = {user_id}"))
    conn.exec_driver_sql("DELETE FROM actions WHERE source_key = '%s'" % key)
    conn.exec_driver_sql("SELECT " + column + " FROM actions")
    conn.exec_driver_sql("UPDATE actions SET quantity = {}".format(key))
"""
    assert len(sql_built_with_values(bad, "example.py")) == 4
    good = """
LOCK = 7
def fine(conn, user_id, rows):
    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOCK})")
    conn.execute(text("SELECT * FROM actions WHERE user_id = :user"), {"user": user_id})
    conn.exec_driver_sql(f"PRAGMA cache_size = {int(rows)}")
    print(f"{user_id} rows refused")
"""
    assert sql_built_with_values(good, "example.py") == []


def test_no_value_is_spliced_into_sql_in_our_code() -> None:
    problems = []
    for root in PYTHON_ROOTS:
        for path in sorted((REPO / root).rglob("*.py")):
            where = path.relative_to(REPO).as_posix()
            problems += sql_built_with_values(path.read_text(encoding="utf-8"), where)
    assert problems == [], "\n".join(problems)


def test_sql_files_take_only_named_parameters() -> None:
    files = sorted((REPO / "sql").rglob("*.sql"))
    for path in files:
        body = path.read_text(encoding="utf-8")
        where = path.relative_to(REPO)
        assert not re.search(r"\{[^}]*\}|%s|%\(", body), f"{where}: Python-style placeholder"
        assert not re.search(r"\bEXECUTE\b", body, re.IGNORECASE), f"{where}: dynamic SQL"
        assert _NAME.search(body), f"{where}: statements need `-- name:` headers"


# -- secrets in output and logs ---------------------------------------------------------------

PASSWORD = "s3cr3t-pw-do-not-print"


def with_password(url: str) -> str:
    return make_url(url).set(username=make_url(url).username or "postgres", password=PASSWORD).render_as_string(hide_password=False)


UNREACHABLE = [
    f"postgresql://scorer:{PASSWORD}@127.0.0.1:1/nowhere",
    f"postgres://scorer:{PASSWORD}@127.0.0.1:1/nowhere",
    f"postgresql://scorer:{PASSWORD}@127.0.0.1:notaport/nowhere",
    f"mysql://scorer:{PASSWORD}@127.0.0.1/nowhere",
    f"postgresql://scorer:{PASSWORD}@with-at@127.0.0.1:1/nowhere",
    f"postgresql://scorer:{PASSWORD}@127.0.0.1:1/nowhere?sslmode=bogus",
]


@pytest.mark.parametrize("url", UNREACHABLE)
def test_password_is_redacted_from_errors(url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    for args in (["--db", url, "init"], ["--db", url, "verify"], ["digest"]):
        result = runner.invoke(app, args, env={"SCORELEDGER_DATABASE_URL": url})
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit)
        assert PASSWORD not in result.output
    with pytest.raises(LedgerError) as caught:
        Ledger.open(url).init()
    assert PASSWORD not in str(caught.value) and PASSWORD not in repr(caught.value)
    assert PASSWORD not in caplog.text


def test_help_never_shows_the_configured_url() -> None:
    url = f"postgresql://scorer:{PASSWORD}@db.example/ledger"
    result = CliRunner().invoke(app, ["--help"], env={"SCORELEDGER_DATABASE_URL": url})
    assert result.exit_code == 0 and PASSWORD not in result.output


@pytest.mark.parametrize("backend", ["postgresql"])
def test_password_is_redacted_when_things_work(database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # The test server trusts local connections, so any password is accepted: the success
    # paths run with one, and must not echo it.
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)
    url = with_password(database_url)
    path = tmp_path / "a.csv"
    path.write_text("source_key,user_id,action,occurred_at\nk1,1,likes_received,2024-01-01\n")
    runner = CliRunner()
    outputs = [runner.invoke(app, ["--db", url, *args]) for args in (["init"], ["ingest", str(path)], ["verify"], ["digest"])]
    assert all(result.exit_code == 0 for result in outputs), [result.output for result in outputs]
    assert "***" in outputs[0].output  # init names the database, without its password
    assert all(PASSWORD not in result.output for result in outputs)
    book = Ledger.open(url)
    assert PASSWORD not in repr(book.engine) and PASSWORD not in str(book.engine.url)
    book.close()
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    assert PASSWORD not in caplog.text
