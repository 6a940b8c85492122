"""Every file, statement, function and invariant that a comment, docstring or the design doc
cites exists (docs/design.md says how code cites it)."""

from __future__ import annotations

import ast
import importlib
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED_FOLDERS = ("ledger", "cli", "sql", "tests", "bench")
DESIGN = ROOT / "docs" / "design.md"

PATH = r"(?:ledger|cli|sql|tests|bench|docs)/[A-Za-z0-9_./-]*[A-Za-z0-9_]\.(?:py|sql|md)"
# A path, then the name of something in it: "ledger/rule_words.py `describe`",
# "sql/replay.sql, statement `price`", "ledger/rule_words.py describe()".
CITED_NAME = re.compile(rf"({PATH})(?:,? statement)? (?:`([A-Za-z_][A-Za-z0-9_]*)(?:\(\))?`|([A-Za-z_][A-Za-z0-9_]*)\(\))")
CITED_PATH = re.compile(rf"(?<![A-Za-z0-9_./-])({PATH})")
DOTTED = re.compile(r"`(ledger(?:\.[A-Za-z_][A-Za-z0-9_]*)+)`")
INVARIANT = re.compile(r"\binvariants? (\d+)")
NUMBERED_INVARIANT = re.compile(r"^(\d+)\. \*\*", re.MULTILINE)
# Where the installed package keeps sql/ (pyproject.toml maps it there).
INSTALLED_SQL = "ledger/sql/"


def _commentary_of_python(path: Path) -> str:
    """Comments and docstrings of a Python file: what a reader takes as prose."""
    source = path.read_text()
    parts = [token.string for token in tokenize.generate_tokens(io.StringIO(source).readline) if token.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            docstring = ast.get_docstring(node, clean=False)
            if docstring:
                parts.append(docstring)
    return "\n".join(parts)


def _commentary_of_sql(path: Path) -> str:
    return "\n".join(line.split("--", 1)[1] for line in path.read_text().splitlines() if "--" in line)


def commentaries() -> Iterator[tuple[Path, str]]:
    for folder in SCANNED_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            if ".venv" in path.parts or "__pycache__" in path.parts:
                continue
            if path.suffix == ".py":
                yield path, _commentary_of_python(path)
            elif path.suffix == ".sql":
                yield path, _commentary_of_sql(path)
    for path in sorted((ROOT / "docs").glob("*.md")):
        yield path, path.read_text()


def _resolve(cited: str) -> Path | None:
    """The file a cited path names, or None when no such file exists; `NAME`-style
    placeholders stand for any file of that folder."""
    if cited.startswith(INSTALLED_SQL):
        cited = cited[len("ledger/") :]
    if re.search(r"/[A-Z_]+\.\w+$", cited):
        return ROOT / cited.rsplit("/", 1)[0]
    path = ROOT / cited
    return path if path.exists() else None


def _defined_in(path: Path, name: str) -> bool:
    if path.suffix == ".sql":
        variants = [path] + [path.parent / dialect / path.name for dialect in ("postgresql", "sqlite")]
        return any(re.search(rf"^-- name: {re.escape(name)}\b", p.read_text(), re.MULTILINE) for p in variants if p.exists())
    source = path.read_text()
    return re.search(rf"^\s*(?:async def|def|class) {re.escape(name)}\b|^{re.escape(name)}\s*[:=]", source, re.MULTILINE) is not None


def _design_invariants() -> set[int]:
    section = DESIGN.read_text().split("## Invariants", 1)[1].split("\n## ", 1)[0]
    return {int(number) for number in NUMBERED_INVARIANT.findall(section)}


def test_the_design_doc_numbers_its_invariants_from_one_without_gaps() -> None:
    numbers = sorted(_design_invariants())
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 6


def test_every_cited_file_exists() -> None:
    missing = [
        f"{path.relative_to(ROOT)}: {cited}"
        for path, text in commentaries()
        for cited in CITED_PATH.findall(text)
        if _resolve(cited) is None
    ]
    assert missing == []


def test_every_cited_function_and_statement_exists() -> None:
    missing = []
    for path, text in commentaries():
        for cited, backticked, called in CITED_NAME.findall(text):
            target = _resolve(cited)
            name = backticked or called
            if target is not None and target.is_file() and not _defined_in(target, name):
                missing.append(f"{path.relative_to(ROOT)}: {cited} {name}")
    assert missing == []


def test_every_cited_dotted_name_imports() -> None:
    missing = []
    for path, text in commentaries():
        for dotted in DOTTED.findall(text):
            if not _importable(dotted):
                missing.append(f"{path.relative_to(ROOT)}: {dotted}")
    assert missing == []


def _importable(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(found, attribute):
                return False
            found = getattr(found, attribute)
        return True
    return False


def test_every_cited_invariant_is_in_the_design_doc() -> None:
    known = _design_invariants()
    cited = [
        f"{path.relative_to(ROOT)}: invariant {number}"
        for path, text in commentaries()
        for number in INVARIANT.findall(text)
        if int(number) not in known
    ]
    assert cited == []


def test_nothing_cites_a_design_doc_outside_the_repository() -> None:
    stale = [str(path.relative_to(ROOT)) for path, text in commentaries() if re.search(r"(?<![/\w])DESIGN\.md", text)]
    assert stale == []


@pytest.mark.parametrize("cited", ["ledger/no_such_module.py", "sql/replay.sql"])
def test_the_path_check_tells_a_missing_file_from_a_present_one(cited: str) -> None:
    assert (_resolve(cited) is None) == ("no_such" in cited)


def test_the_name_check_tells_a_missing_statement_from_a_present_one() -> None:
    assert _defined_in(ROOT / "sql" / "replay.sql", "price")
    assert not _defined_in(ROOT / "sql" / "replay.sql", "no_such_statement")
    assert _defined_in(ROOT / "ledger" / "rule_words.py", "describe")


def test_dialect_differences_are_asked_of_the_dialect_module_only() -> None:
    """docs/design.md: what SQLite and PostgreSQL do differently lives in ledger/store/dialects.py."""
    branching = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "ledger").rglob("*.py"))
        if "dialect.name" in path.read_text() and path.name != "dialects.py"
    ]
    assert branching == []
