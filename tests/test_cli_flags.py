"""The library's errors name parameters; the CLI shows the options that set them (issue 22)."""

from __future__ import annotations

import ast
import re
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from cli.flags import as_flags
from ledger import Action, Ledger
from ledger.errors import InvalidInput

LIBRARY = Path(__file__).resolve().parent.parent / "ledger"
OPTION = re.compile(r"[\"'` (/]--[a-z]")


def _strings_outside_docstrings(source: str) -> list[tuple[int, str]]:
    tree = ast.parse(source)
    docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_the_library_names_no_option_in_its_messages() -> None:
    offenders = [
        f"{path.relative_to(LIBRARY.parent)}:{line}: {text!r}"
        for path in sorted(LIBRARY.rglob("*.py"))
        if "migrations" not in path.parts
        for line, text in _strings_outside_docstrings(path.read_text(encoding="utf-8"))
        if OPTION.search(" " + text)
    ]
    assert offenders == []


def test_library_errors_name_parameters(book: Ledger) -> None:
    with pytest.raises(InvalidInput) as caught:
        book.leaderboard(from_day=date(2024, 2, 1), to_day=date(2024, 1, 1))
    (problem,) = caught.value.problems
    assert (problem.source, problem.reason) == ("`from_day`/`to_day`", "`from_day` 2024-02-01 is after `to_day` 2024-01-01")
    with pytest.raises(InvalidInput, match=r"`limit`|1 problem") as caught:
        book.leaderboard(limit=0)
    assert caught.value.problems[0].source == "`limit`"
    with pytest.raises(InvalidInput) as caught:
        Ledger(create_engine("sqlite://"), "")
    assert caught.value.problems[0].source == "`ledger`"


def test_the_cli_shows_the_options(book: Ledger, cli) -> None:
    book.record_actions([Action(source_key="a", user_id=1, action="x", occurred_at=datetime(2024, 1, 5))])
    assert (
        as_flags("`from_day` 2024-02-01 is after `to_day` 2024-01-01; `by` stays")
        == "--from 2024-02-01 is after --to 2024-01-01; `by` stays"
    )
    result = cli("leaderboard", "--from", "2024-02-01", "--to", "2024-01-01", ok=False)
    assert result.exit_code == 1 and "--from/--to: --from 2024-02-01 is after --to 2024-01-01" in result.stderr
    assert "`" not in result.stderr
    result = cli("leaderboard", "--limit", "0", ok=False)
    assert result.exit_code == 1 and "--limit" in result.stderr and "`limit`" not in result.stderr
    result = cli("--ledger", "x" * 101, "scores", ok=False)
    assert result.exit_code == 1 and "--ledger" in result.stderr
