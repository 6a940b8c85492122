"""The SQL loader is strict: every statement of both dialects loads, and a mistake in a .sql
file fails at load naming the file and line (issue 22)."""

from __future__ import annotations

from importlib.resources.abc import Traversable
from pathlib import Path

import pytest
from sqlalchemy import text

from ledger import sqlfiles
from ledger.errors import SqlFileError


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_every_statement_loads_for_both_dialects(dialect: str) -> None:
    statements = sqlfiles.catalogue(dialect)
    assert {"ledger_number", "attribute_as_text", "daily_differences"} <= set(statements)
    for name, body in statements.items():
        assert "-- include:" not in body, name
        assert "-- name:" not in body, name
        text(body)  # parses its :named parameters
        assert sqlfiles.statement(name, dialect).text == body


def _load(tmp_path: Path, common: dict[str, str], dialect: dict[str, str] | None = None) -> dict[str, str]:
    folders = []
    for label, files in (("sql", common), ("sql/sqlite", dialect or {})):
        folder = tmp_path / label
        folder.mkdir(parents=True, exist_ok=True)
        for name, body in files.items():
            (folder / name).write_text(body)
        folders.append(sqlfiles.read_folder(folder, label))
    return sqlfiles.resolve(folders)


def test_includes_resolve_with_the_dialects_fragment_first(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        {"a.sql": "-- header\n\n-- name: outer\nSELECT\n    -- include: part\n;\n-- name: part\n1"},
        {"b.sql": "-- name: part\n2 AS two"},
    )
    assert loaded == {"outer": "SELECT\n    2 AS two", "part": "2 AS two"}


def test_a_name_defined_twice_in_one_folder_names_both_places(tmp_path: Path) -> None:
    with pytest.raises(SqlFileError, match=r"sql/b\.sql:3: statement 'x' is defined twice \(first at sql/a\.sql:1\)"):
        _load(tmp_path, {"a.sql": "-- name: x\nSELECT 1", "b.sql": "-- name: y\nSELECT 2\n-- name: x\nSELECT 3"})


def test_a_missing_fragment_names_the_include_line(tmp_path: Path) -> None:
    with pytest.raises(SqlFileError, match=r"sql/a\.sql:4: includes 'nowhere', which no \.sql file names"):
        _load(tmp_path, {"a.sql": "-- name: x\n\nSELECT\n  -- include: nowhere\nFROM t"})


def test_an_include_cycle_is_named_with_its_steps(tmp_path: Path) -> None:
    files = {"a.sql": "-- name: x\nSELECT\n-- include: y\n-- name: y\n-- include: z\n-- name: z\n-- include: x"}
    with pytest.raises(SqlFileError, match=r"sql/a\.sql:\d+: include cycle .*x \(sql/a\.sql:1\) -> y .* -> z .* -> x"):
        _load(tmp_path, files)


def test_a_statement_including_itself_is_a_cycle(tmp_path: Path) -> None:
    with pytest.raises(SqlFileError, match="include cycle"):
        _load(tmp_path, {"a.sql": "-- name: x\nSELECT\n-- include: x"})


def test_sql_outside_any_statement_and_empty_statements_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SqlFileError, match=r"sql/a\.sql:2: SQL before the first"):
        _load(tmp_path, {"a.sql": "-- about\nSELECT 1\n-- name: x\nSELECT 2"})
    with pytest.raises(SqlFileError, match=r"sql/b\.sql:1: statement 'x' is empty"):
        _load(tmp_path / "other", {"b.sql": "-- name: x\n;\n-- name: y\nSELECT 1"})


def test_scratch_tables_take_their_lifetime_from_one_fragment() -> None:
    """A dialect's difference in a scratch table is its lifetime, written once
    (`scratch_table_lifetime`), not a copy of each CREATE with `ON COMMIT DROP` added."""
    common = sqlfiles.read_folder(_folder(), "sql")
    for dialect in ("postgresql", "sqlite"):
        folder = sqlfiles.read_folder(_folder(dialect), f"sql/{dialect}")
        copies = [named.where() for named in folder.values() if named.name.startswith("create_replay_") and named.name in common]
        assert copies == []
        written = [named.where() for named in folder.values() if "ON COMMIT DROP" in named.body and named.name != "scratch_table_lifetime"]
        assert written == []
    for name, body in sqlfiles.catalogue("postgresql").items():
        if name.startswith("create_replay_") and name in common:
            assert body.rstrip().endswith("ON COMMIT DROP"), name


def _folder(*parts: str) -> Traversable:
    folder = sqlfiles.sql_folder(*parts)
    assert folder is not None
    return folder


def test_a_checkout_reads_its_own_sql_folder() -> None:
    """Run from a checkout, the statements are this checkout's sql/ files (not those of an
    install elsewhere), whatever the import system maps `ledger.sql` to."""
    repository = Path(__file__).resolve().parent.parent
    assert Path(str(_folder())) == repository / "sql"
    assert Path(str(_folder("postgresql"))) == repository / "sql" / "postgresql"
    assert sqlfiles.sql_folder("no_such_dialect") is None
