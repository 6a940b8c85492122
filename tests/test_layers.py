"""Imports run one way, as docs/design.md's "Layers" section draws them."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Modules every layer may import: the vocabulary, errors, settings, and leaf helpers that
# import nothing of ours beyond these.
FOUNDATION = (
    "ledger.domain",
    "ledger.errors",
    "ledger.config",
    "ledger.safe_values",
    "ledger.time_bounds",
    "ledger.rows",
    "ledger.sqlfiles",
    "ledger.problem_log",
    "ledger.user_keys",
)
# Library internals the command line must reach only through the library's public modules.
INTERNALS = ("ledger.store", "ledger.sql", "ledger.sqlfiles", "ledger.pricing")


def imports_of(path: Path) -> list[str]:
    """Every module `path` imports, at any depth of its code (`from ledger import x` counts as
    ledger.x)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [f"{node.module}.{alias.name}" if node.module == "ledger" else node.module for alias in node.names]
    return found


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


def _ours(module: str) -> bool:
    return _within(module, ("ledger", "scoreledger_cli", "cli"))


def offenders(folder: str, allowed: tuple[str, ...], forbidden: tuple[str, ...] = ()) -> list[str]:
    """Imports of our own modules in `folder` outside `allowed` (when given) or inside `forbidden`."""
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for module in imports_of(path):
            if not _ours(module):
                continue
            if (allowed and not _within(module, allowed)) or _within(module, forbidden):
                found.append(f"{path.relative_to(ROOT)} imports {module}")
    return found


def test_the_command_line_reaches_the_library_only_through_its_public_modules() -> None:
    assert offenders("cli", (), forbidden=INTERNALS) == []


def test_the_store_imports_nothing_above_it() -> None:
    assert offenders("ledger/store", ("ledger.store", *FOUNDATION)) == []


def test_readers_of_files_do_not_import_the_store() -> None:
    assert offenders("ledger/importers", (), forbidden=("ledger.store",)) == []
    assert offenders("ledger/exporters", (), forbidden=("ledger.store",)) == []


def test_the_foundation_imports_only_the_foundation() -> None:
    for module in FOUNDATION:
        path = ROOT / (module.replace(".", "/") + ".py")
        ours = [imported for imported in imports_of(path) if _ours(imported)]
        assert all(_within(imported, FOUNDATION) for imported in ours), (module, ours)


def test_the_library_never_imports_the_command_line() -> None:
    assert offenders("ledger", (), forbidden=("scoreledger_cli", "cli")) == []


def test_the_checks_see_an_offending_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from ledger.store.engine import open_engine\n")
    assert imports_of(module) == ["ledger.store.engine"]
    assert _within("ledger.store.engine", INTERNALS)
